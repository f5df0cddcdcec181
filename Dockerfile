# syntax=docker/dockerfile:1
# rmq: every binary in one small runtime image (no shell, non-root). Pick the process with the
# container command: rmq-namesrv, rmq-broker, rmq-controller, rmq-operator or rmqadmin.
#
#   docker build -t rmq:dev .
#   docker run --rm rmq:dev rmq-broker --help

# Base images: overridable for a machine without registry access (hack/build-image.sh makes both
# locally and builds with buildah, no Docker daemon).
ARG RUST_IMAGE=docker.io/library/rust:1.95-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
# No debuginfo in the image (the workspace's release profile keeps some for profiling).
ENV CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=debuginfo
RUN cargo build --release --locked \
        -p rmq-namesrv -p rmq-broker -p rmq-controller -p rmq-operator -p rmq-client --bins \
    && mkdir -p /out \
    && cp target/release/rmq-namesrv target/release/rmq-broker target/release/rmq-controller \
          target/release/rmq-operator target/release/rmqadmin /out/

FROM ${RUNTIME_IMAGE}
LABEL org.opencontainers.image.title="rmq" \
      org.opencontainers.image.description="RocketMQ-compatible NameServer, broker, failover controller, operator and admin CLI" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/ /usr/local/bin/
USER 65532:65532
# Remoting 9876 (NameServer), 10909/10911/10912 (broker VIP, main, HA), 5557/5558 (metrics), 9880 (controller).
EXPOSE 9876 10909 10911 10912 5557 5558 9880
CMD ["rmq-broker", "--help"]
