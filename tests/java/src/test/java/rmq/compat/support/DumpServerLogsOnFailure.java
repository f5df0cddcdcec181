package rmq.compat.support;

import java.util.Optional;
import java.util.function.Supplier;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * On a failed test, prints the tails of all server logs of the test's cluster to stdout (Surefire keeps it in
 * {@code <TestClass>-output.txt}). Use with {@code @RegisterExtension}.
 */
public final class DumpServerLogsOnFailure implements TestWatcher {
    private final Supplier<Cluster> cluster;

    public DumpServerLogsOnFailure(Supplier<Cluster> cluster) {
        this.cluster = cluster;
    }

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        Cluster c = cluster.get();
        System.out.println("===== " + context.getDisplayName() + " FAILED: " + cause);
        if (c != null) {
            System.out.println("===== server logs (" + Cluster.IMPL + ", " + c.dir + "):" + c.diagnostics());
        }
    }

    @Override
    public void testDisabled(ExtensionContext context, Optional<String> reason) {}
}
