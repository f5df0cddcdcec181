package rmq.compat.support;

import java.time.Duration;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Polling with deadlines (instead of fixed sleeps). */
public final class Wait {
    private Wait() {}

    /**
     * Polls {@code cond} every {@code pollMs} until true; returns false on timeout. Runtime exceptions and
     * assertion errors (say, a tool that does not answer yet) count as "not yet".
     */
    public static boolean until(Duration timeout, long pollMs, BooleanSupplier cond) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try {
                if (cond.getAsBoolean()) {
                    return true;
                }
            } catch (RuntimeException | AssertionError e) {
                // not yet
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            sleep(pollMs);
        }
    }

    /** Like {@link #until} but throws an AssertionError built from {@code message} on timeout. */
    public static void require(Duration timeout, long pollMs, BooleanSupplier cond, Supplier<String> message) {
        if (!until(timeout, pollMs, cond)) {
            throw new AssertionError("timed out after " + timeout.toSeconds() + " s: " + message.get());
        }
    }

    public static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RuntimeException(e);
        }
    }
}
