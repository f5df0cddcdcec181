package rmq.compat.support;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/** Picks loopback ports whose neighbours are free too (the broker also opens listenPort-2 and listenPort+1). */
public final class Ports {
    private static final Set<Integer> HANDED_OUT = new HashSet<>();

    private Ports() {}

    /**
     * Returns a port p such that p-2 .. p+2 are currently free on 127.0.0.1 and never handed out before in
     * this JVM. Ports are picked in blocks of 10 (p = block + 5).
     */
    public static synchronized int allocate() {
        for (int attempt = 0; attempt < 500; attempt++) {
            int block = ThreadLocalRandom.current().nextInt(1000, 3200) * 10; // 10000..31990: below the Linux ephemeral range
            int p = block + 5;
            if (HANDED_OUT.contains(p)) {
                continue;
            }
            boolean ok = true;
            for (int q = p - 2; q <= p + 2 && ok; q++) {
                ok = isFree(q);
            }
            if (ok) {
                HANDED_OUT.add(p);
                return p;
            }
        }
        throw new IllegalStateException("could not find a free loopback port block");
    }

    static boolean isFree(int port) {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
