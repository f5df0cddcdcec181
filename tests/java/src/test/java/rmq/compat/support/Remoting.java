package rmq.compat.support;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A deliberately tiny, client-library-independent RocketMQ remoting client (JSON request headers, JSON or
 * ROCKETMQ-binary response headers). The test support uses it for readiness checks and a few probes so that
 * they behave the same with every client version under test.
 */
public final class Remoting {
    public static final int GET_BROKER_CLUSTER_INFO = 106;
    public static final int QUERY_CONSUMER_OFFSET = 14;
    public static final int GET_MAX_OFFSET = 30;

    private static final AtomicInteger OPAQUE = new AtomicInteger(1);

    private Remoting() {}

    /** A decoded response. */
    public static final class Response {
        public final int code;
        public final String remark;
        public final Map<String, String> extFields;
        public final byte[] body;

        Response(int code, String remark, Map<String, String> extFields, byte[] body) {
            this.code = code;
            this.remark = remark;
            this.extFields = extFields;
            this.body = body;
        }

        public String bodyString() {
            return body == null ? "" : new String(body, StandardCharsets.UTF_8);
        }

        @Override
        public String toString() {
            return "Response{code=" + code + ", remark=" + remark + ", extFields=" + extFields + ", body="
                + (body == null ? 0 : body.length) + " bytes}";
        }
    }

    public static Response invoke(String addr, int code, Map<String, String> extFields, int timeoutMs)
        throws IOException {
        int idx = addr.lastIndexOf(':');
        String host = addr.substring(0, idx);
        int port = Integer.parseInt(addr.substring(idx + 1));
        int opaque = OPAQUE.getAndIncrement();
        StringBuilder h = new StringBuilder();
        h.append("{\"code\":").append(code);
        if (extFields != null && !extFields.isEmpty()) {
            h.append(",\"extFields\":{");
            boolean first = true;
            for (Map.Entry<String, String> e : new TreeMap<>(extFields).entrySet()) {
                if (!first) {
                    h.append(',');
                }
                first = false;
                h.append(quote(e.getKey())).append(':').append(quote(e.getValue()));
            }
            h.append('}');
        }
        h.append(",\"flag\":0,\"language\":\"JAVA\",\"opaque\":").append(opaque)
            .append(",\"serializeTypeCurrentRPC\":\"JSON\",\"version\":475}");
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), timeoutMs);
            s.setSoTimeout(timeoutMs);
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(buf);
            out.writeInt(4 + header.length);
            out.writeInt(header.length); // serialize type 0 = JSON in the high byte
            out.write(header);
            out.flush();
            s.getOutputStream().write(buf.toByteArray());
            s.getOutputStream().flush();
            DataInputStream in = new DataInputStream(s.getInputStream());
            while (true) {
                int len = in.readInt();
                int hl = in.readInt();
                int type = (hl >>> 24) & 0xff;
                hl &= 0xffffff;
                byte[] hb = new byte[hl];
                in.readFully(hb);
                byte[] body = new byte[len - 4 - hl];
                in.readFully(body);
                Response r = type == 0 ? decodeJson(hb, body) : decodeBinary(hb, body);
                if (r != null) {
                    return r;
                }
            }
        }
    }

    private static Response decodeJson(byte[] hb, byte[] body) {
        Object parsed = Json.parse(new String(hb, StandardCharsets.UTF_8));
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) parsed;
        Map<String, String> ext = new LinkedHashMap<>();
        Object e = m.get("extFields");
        if (e instanceof Map) {
            for (Map.Entry<?, ?> en : ((Map<?, ?>) e).entrySet()) {
                ext.put(String.valueOf(en.getKey()), en.getValue() == null ? null : String.valueOf(en.getValue()));
            }
        }
        Object code = m.get("code");
        return new Response(((Number) code).intValue(), (String) m.get("remark"), ext, body);
    }

    private static Response decodeBinary(byte[] hb, byte[] body) {
        ByteBuffer b = ByteBuffer.wrap(hb);
        int code = b.getShort();
        b.get(); // language
        b.getShort(); // version
        b.getInt(); // opaque
        b.getInt(); // flag
        int rl = b.getInt();
        String remark = null;
        if (rl > 0) {
            byte[] r = new byte[rl];
            b.get(r);
            remark = new String(r, StandardCharsets.UTF_8);
        }
        Map<String, String> ext = new LinkedHashMap<>();
        int el = b.getInt();
        int end = b.position() + el;
        while (b.position() < end) {
            byte[] k = new byte[b.getShort()];
            b.get(k);
            byte[] v = new byte[b.getInt()];
            b.get(v);
            ext.put(new String(k, StandardCharsets.UTF_8), new String(v, StandardCharsets.UTF_8));
        }
        return new Response(code, remark, ext, body);
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }

    // ---------------------------------------------------------------- convenience probes

    /** GET_BROKER_CLUSTER_INFO body as text (fastjson-style JSON; only used for substring checks). */
    public static String clusterInfo(String namesrvAddr) throws IOException {
        Response r = invoke(namesrvAddr, GET_BROKER_CLUSTER_INFO, null, 3000);
        if (r.code != 0) {
            throw new IOException("GET_BROKER_CLUSTER_INFO from " + namesrvAddr + " failed: " + r);
        }
        return r.bodyString();
    }

    /** QUERY_CONSUMER_OFFSET; returns -1 when the broker answers with an error code (e.g. 22 QUERY_NOT_FOUND). */
    public static long queryConsumerOffset(String brokerAddr, String group, String topic, int queueId)
        throws IOException {
        Map<String, String> ext = new LinkedHashMap<>();
        ext.put("consumerGroup", group);
        ext.put("topic", topic);
        ext.put("queueId", String.valueOf(queueId));
        Response r = invoke(brokerAddr, QUERY_CONSUMER_OFFSET, ext, 3000);
        if (r.code != 0) {
            return -1;
        }
        return Long.parseLong(r.extFields.get("offset"));
    }

    /** Minimal JSON parser (objects, arrays, strings, numbers, literals; lenient about unquoted keys). */
    static final class Json {
        private final String s;
        private int i;

        private Json(String s) {
            this.s = s;
        }

        static Object parse(String s) {
            Json j = new Json(s);
            return j.value();
        }

        private void ws() {
            while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
                i++;
            }
        }

        private Object value() {
            ws();
            char c = s.charAt(i);
            switch (c) {
                case '{': {
                    i++;
                    Map<Object, Object> m = new LinkedHashMap<>();
                    ws();
                    if (s.charAt(i) == '}') {
                        i++;
                        return m;
                    }
                    while (true) {
                        ws();
                        Object k = s.charAt(i) == '"' ? string() : value();
                        ws();
                        i++; // ':'
                        Object v = value();
                        m.put(k instanceof String ? k : String.valueOf(k), v);
                        ws();
                        if (s.charAt(i++) == '}') {
                            return m;
                        }
                    }
                }
                case '[': {
                    i++;
                    java.util.List<Object> l = new java.util.ArrayList<>();
                    ws();
                    if (s.charAt(i) == ']') {
                        i++;
                        return l;
                    }
                    while (true) {
                        l.add(value());
                        ws();
                        if (s.charAt(i++) == ']') {
                            return l;
                        }
                    }
                }
                case '"':
                    return string();
                default: {
                    int st = i;
                    while (i < s.length() && ",}]: \t\r\n".indexOf(s.charAt(i)) < 0) {
                        i++;
                    }
                    String tok = s.substring(st, i);
                    if (tok.equals("true") || tok.equals("false")) {
                        return Boolean.valueOf(tok);
                    }
                    if (tok.equals("null")) {
                        return null;
                    }
                    try {
                        return tok.contains(".") || tok.contains("e") || tok.contains("E")
                            ? (Object) Double.valueOf(tok) : (Object) Long.valueOf(tok);
                    } catch (NumberFormatException e) {
                        return tok;
                    }
                }
            }
        }

        private String string() {
            StringBuilder b = new StringBuilder();
            i++;
            while (true) {
                char c = s.charAt(i++);
                if (c == '"') {
                    return b.toString();
                }
                if (c == '\\') {
                    char e = s.charAt(i++);
                    switch (e) {
                        case 'n': b.append('\n'); break;
                        case 't': b.append('\t'); break;
                        case 'r': b.append('\r'); break;
                        case 'b': b.append('\b'); break;
                        case 'f': b.append('\f'); break;
                        case 'u': b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
                        default: b.append(e);
                    }
                } else {
                    b.append(c);
                }
            }
        }
    }
}
