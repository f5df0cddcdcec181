package rmq.compat;

import org.apache.rocketmq.tools.command.MQAdminStartup;

/**
 * Entry point of the mqadmin JVM: runs {@code MQAdminStartup.main} unchanged, then exits at once instead of
 * waiting ~3 s for the client's lingering non-daemon threads (Netty executors) to wind down.
 */
public final class MqAdminMain {
    private MqAdminMain() {}

    public static void main(String[] args) {
        MQAdminStartup.main(args);
        System.out.flush();
        System.err.flush();
        Runtime.getRuntime().halt(0);
    }
}
