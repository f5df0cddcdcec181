package rmq.compat.support;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import org.apache.rocketmq.client.consumer.listener.ConsumeConcurrentlyStatus;
import org.apache.rocketmq.client.consumer.listener.MessageListenerConcurrently;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageExt;

/** Thread-safe sink for consumed messages, keyed by message keys. */
public final class Received {
    private final ConcurrentHashMap<String, List<MessageExt>> byKey = new ConcurrentHashMap<>();
    private final List<MessageExt> all = new CopyOnWriteArrayList<>();

    public MessageListenerConcurrently listener() {
        return (msgs, ctx) -> {
            for (MessageExt m : msgs) {
                add(m);
            }
            return ConsumeConcurrentlyStatus.CONSUME_SUCCESS;
        };
    }

    public void add(MessageExt m) {
        all.add(m);
        byKey.computeIfAbsent(String.valueOf(m.getKeys()), k -> new CopyOnWriteArrayList<>()).add(m);
    }

    public int count() {
        return all.size();
    }

    public List<MessageExt> all() {
        return new ArrayList<>(all);
    }

    public Set<String> keys() {
        return new HashSet<>(byKey.keySet());
    }

    public boolean containsAll(Collection<Message> expected) {
        for (Message m : expected) {
            if (!byKey.containsKey(m.getKeys())) {
                return false;
            }
        }
        return true;
    }

    /** Waits until every expected message has been received. */
    public void awaitAll(Collection<Message> expected, Duration timeout, String what) {
        Wait.require(timeout, 100, () -> containsAll(expected), () -> what + ": received "
            + expected.stream().filter(m -> byKey.containsKey(m.getKeys())).count() + " of " + expected.size()
            + " expected messages (total deliveries " + count() + "); first missing: "
            + expected.stream().filter(m -> !byKey.containsKey(m.getKeys())).limit(3)
                .map(Clients::describe).collect(Collectors.toList()));
    }

    /**
     * Waits for all expected messages, waits {@code settleMs} more for stray duplicates, then asserts: exactly the
     * expected messages, each exactly once, with matching topic, body, keys, tags and user properties.
     */
    public void assertExactly(Collection<Message> expected, Duration timeout, long settleMs, String what) {
        awaitAll(expected, timeout, what);
        Wait.sleep(settleMs);
        assertMatches(expected, what);
        Map<String, Integer> dups = new LinkedHashMap<>();
        byKey.forEach((k, l) -> {
            if (l.size() > 1) {
                dups.put(k, l.size());
            }
        });
        assertEquals(Map.of(), dups, what + ": duplicate deliveries (key -> times)");
        Set<String> expectedKeys = expected.stream().map(Message::getKeys).collect(Collectors.toSet());
        Set<String> unexpected = keys();
        unexpected.removeAll(expectedKeys);
        assertEquals(Set.of(), unexpected, what + ": received messages that were not expected");
        assertEquals(expected.size(), count(), what + ": total number of deliveries");
    }

    /** Asserts every expected message was received (at least once) with matching content. */
    public void assertMatches(Collection<Message> expected, String what) {
        for (Message e : expected) {
            List<MessageExt> got = byKey.get(e.getKeys());
            if (got == null || got.isEmpty()) {
                throw new AssertionError(what + ": not received: " + Clients.describe(e));
            }
            MessageExt m = got.get(0);
            String id = what + ": message " + e.getKeys() + " (msgId " + m.getMsgId() + ")";
            assertEquals(e.getTopic(), m.getTopic(), id + " topic");
            assertEquals(e.getTags(), m.getTags(), id + " tags");
            assertEquals(e.getKeys(), m.getKeys(), id + " keys");
            assertEquals(e.getBody().length, m.getBody() == null ? -1 : m.getBody().length, id + " body length");
            assertArrayEquals(e.getBody(), m.getBody(), id + " body bytes");
            for (Map.Entry<String, String> p : e.getProperties().entrySet()) {
                String k = p.getKey();
                if (k.startsWith("test")) {
                    assertEquals(p.getValue(), m.getUserProperty(k), id + " user property " + k);
                }
            }
        }
    }
}
