/*
 * nullbroker.c: the C null broker of Nucleon.Pipes.Benchmarks.
 *
 * A minimal AMQP 0-9-1 server for measuring a client's own cost. It does the real handshake, answers
 * every synchronous method with its -ok, discards publishes, confirms them after every read buffer
 * (one basic.ack, multiple=true, per channel), streams deliveries encoded in advance to consumers of
 * queues named null:COUNT:SIZE (honouring basic.qos prefetch unless no-ack), and delivers a publish
 * that carries reply-to back to the consumer of the queue so named on the same connection (RPC echo).
 * It behaves like NullBrokerServer.cs, the .NET null broker, but costs far less CPU per message, so
 * a benchmark sharing the machine's cores with it measures the client rather than the server.
 *
 * Contract (what E2ERunner relies on): nullbroker [--port N] listens on 127.0.0.1 (port 0: an
 * ephemeral one), prints "LISTENING <port>" and runs until its stdin reaches end-of-file or it gets
 * SIGTERM or SIGINT. Malformed input closes that connection only.
 *
 * Design: one thread per connection, each a poll() loop over a non-blocking socket. Input is read
 * into a 1 MiB buffer and parsed in place. Replies, confirms and deliveries are appended to one
 * output buffer that goes out with one send() per batch. A consumer's delivery (method, header and
 * body frames) is encoded once and copied, with only its delivery tag patched.
 *
 * Build: cc -std=c11 -O2 -Wall -Wextra -Werror -pthread -o nullbroker nullbroker.c
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ AMQP 0-9-1 constants */

enum {
    FRAME_METHOD = 1,
    FRAME_HEADER = 2,
    FRAME_BODY = 3,
    FRAME_HEARTBEAT = 8,
    FRAME_END = 0xCE,
    FRAME_HEADER_SIZE = 7, /* type, channel, payload size */
    FRAME_OVERHEAD = 8,    /* the header plus the frame-end octet */
    BASIC_CLASS = 60,
    REPLY_TO_FLAG = 1 << 9, /* in a content header's property flags */
};

/* What connection.tune offers, as the .NET null broker does (heartbeat 0: the client's choice). */
#define FRAME_MAX 131072u
#define CHANNEL_MAX 2047u
/* A heartbeat goes out every 10 s whatever was tuned, as the .NET null broker does. */
#define HEARTBEAT_MS 10000

#define METHOD(class_id, method_id) (((uint32_t)(class_id) << 16) | (uint32_t)(method_id))

enum method {
    CONNECTION_START = METHOD(10, 10),
    CONNECTION_START_OK = METHOD(10, 11),
    CONNECTION_TUNE = METHOD(10, 30),
    CONNECTION_TUNE_OK = METHOD(10, 31),
    CONNECTION_OPEN = METHOD(10, 40),
    CONNECTION_OPEN_OK = METHOD(10, 41),
    CONNECTION_CLOSE = METHOD(10, 50),
    CONNECTION_CLOSE_OK = METHOD(10, 51),
    CHANNEL_OPEN = METHOD(20, 10),
    CHANNEL_OPEN_OK = METHOD(20, 11),
    CHANNEL_FLOW = METHOD(20, 20),
    CHANNEL_FLOW_OK = METHOD(20, 21),
    CHANNEL_CLOSE = METHOD(20, 40),
    CHANNEL_CLOSE_OK = METHOD(20, 41),
    EXCHANGE_DECLARE = METHOD(40, 10),
    EXCHANGE_DECLARE_OK = METHOD(40, 11),
    EXCHANGE_DELETE = METHOD(40, 20),
    EXCHANGE_DELETE_OK = METHOD(40, 21),
    EXCHANGE_BIND = METHOD(40, 30),
    EXCHANGE_BIND_OK = METHOD(40, 31),
    EXCHANGE_UNBIND = METHOD(40, 40),
    EXCHANGE_UNBIND_OK = METHOD(40, 51),
    QUEUE_DECLARE = METHOD(50, 10),
    QUEUE_DECLARE_OK = METHOD(50, 11),
    QUEUE_BIND = METHOD(50, 20),
    QUEUE_BIND_OK = METHOD(50, 21),
    QUEUE_PURGE = METHOD(50, 30),
    QUEUE_PURGE_OK = METHOD(50, 31),
    QUEUE_DELETE = METHOD(50, 40),
    QUEUE_DELETE_OK = METHOD(50, 41),
    QUEUE_UNBIND = METHOD(50, 50),
    QUEUE_UNBIND_OK = METHOD(50, 51),
    BASIC_QOS = METHOD(60, 10),
    BASIC_QOS_OK = METHOD(60, 11),
    BASIC_CONSUME = METHOD(60, 20),
    BASIC_CONSUME_OK = METHOD(60, 21),
    BASIC_CANCEL = METHOD(60, 30),
    BASIC_CANCEL_OK = METHOD(60, 31),
    BASIC_PUBLISH = METHOD(60, 40),
    BASIC_DELIVER = METHOD(60, 60),
    BASIC_GET = METHOD(60, 70),
    BASIC_GET_EMPTY = METHOD(60, 72),
    BASIC_ACK = METHOD(60, 80),
    BASIC_REJECT = METHOD(60, 90),
    BASIC_RECOVER = METHOD(60, 110),
    BASIC_NACK = METHOD(60, 120),
    CONFIRM_SELECT = METHOD(85, 10),
    CONFIRM_SELECT_OK = METHOD(85, 11),
    TX_SELECT = METHOD(90, 10),
    TX_COMMIT = METHOD(90, 20),
    TX_ROLLBACK = METHOD(90, 30),
};

static const uint8_t PROTOCOL_HEADER[8] = {'A', 'M', 'Q', 'P', 0, 0, 9, 1};

/* ------------------------------------------------------------------ sizes */

#define IN_SIZE (1u << 20)      /* receive buffer: many publishes per read, parsed in place */
#define BATCH (256u << 10)      /* deliveries are added while less output than this is pending */
#define OUT_HIGH (4u << 20)     /* input is not read while more output than this waits (backpressure) */
#define MAX_BODY (256u << 20)   /* the largest echoed body and null-queue message */
#define CLOSE_WAIT_MS 5000      /* how long close-ok may take to leave before the socket is closed anyway */

/* ------------------------------------------------------------------ output buffer */

typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
} buffer;

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL) {
        /* Every size is bounded by the limits above, so this is the machine, not one peer. */
        fprintf(stderr, "nullbroker: out of memory (%zu bytes)\n", n);
        abort();
    }
    return q;
}

/* Makes room for n more bytes at the end of b and returns where they go. */
static uint8_t *buf_room(buffer *b, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap != 0 ? b->cap : 4096;
        while (cap - b->len < n) {
            cap *= 2;
        }
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    return b->data + b->len;
}

static void put_bytes(buffer *b, const void *p, size_t n)
{
    if (n != 0) {
        memcpy(buf_room(b, n), p, n);
        b->len += n;
    }
}

static void patch_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void patch_u64(uint8_t *p, uint64_t v)
{
    patch_u32(p, (uint32_t)(v >> 32));
    patch_u32(p + 4, (uint32_t)v);
}

static void put_u8(buffer *b, uint8_t v) { put_bytes(b, &v, 1); }

static void put_u16(buffer *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put_bytes(b, x, 2);
}

static void put_u32(buffer *b, uint32_t v)
{
    uint8_t x[4];
    patch_u32(x, v);
    put_bytes(b, x, 4);
}

static void put_u64(buffer *b, uint64_t v)
{
    uint8_t x[8];
    patch_u64(x, v);
    put_bytes(b, x, 8);
}

static void put_shortstr(buffer *b, const char *s, uint8_t len)
{
    put_u8(b, len);
    put_bytes(b, s, len);
}

static void put_longstr(buffer *b, const char *s)
{
    size_t len = strlen(s);
    put_u32(b, (uint32_t)len);
    put_bytes(b, s, len);
}

/* ------------------------------------------------------------------ frames */

/* Starts a frame whose payload size frame_end fills in; returns where the frame starts. */
static size_t frame_begin(buffer *b, uint8_t type, uint16_t channel)
{
    size_t start = b->len;
    put_u8(b, type);
    put_u16(b, channel);
    put_u32(b, 0);
    return start;
}

static void frame_end(buffer *b, size_t start)
{
    patch_u32(b->data + start + 3, (uint32_t)(b->len - start - FRAME_HEADER_SIZE));
    put_u8(b, FRAME_END);
}

static size_t method_begin(buffer *b, uint16_t channel, uint32_t method)
{
    size_t start = frame_begin(b, FRAME_METHOD, channel);
    put_u32(b, method);
    return start;
}

/* A method without arguments (most -ok replies). */
static void put_method(buffer *b, uint16_t channel, uint32_t method)
{
    frame_end(b, method_begin(b, channel, method));
}

/* A method whose only argument is a 32-bit count (queue.purge-ok, queue.delete-ok). */
static void put_method_count(buffer *b, uint16_t channel, uint32_t method, uint32_t count)
{
    size_t start = method_begin(b, channel, method);
    put_u32(b, count);
    frame_end(b, start);
}

/* A body split into frames of at most FRAME_MAX bytes, as a broker splits it. */
static void put_body(buffer *b, uint16_t channel, const uint8_t *body, size_t size)
{
    const size_t chunk = FRAME_MAX - FRAME_OVERHEAD;
    for (size_t at = 0; at < size; at += chunk) {
        size_t n = size - at < chunk ? size - at : chunk;
        size_t start = frame_begin(b, FRAME_BODY, channel);
        put_bytes(b, body + at, n);
        frame_end(b, start);
    }
}

/* ------------------------------------------------------------------ reading method arguments */

/* A cursor over a payload; reading past its end sets bad and yields zeros. */
typedef struct {
    const uint8_t *p;
    size_t left;
    bool bad;
} reader;

static const uint8_t *take(reader *r, size_t n)
{
    if (r->left < n) {
        r->bad = true;
        r->left = 0;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

static uint8_t get_u8(reader *r)
{
    const uint8_t *p = take(r, 1);
    return p != NULL ? p[0] : 0;
}

static uint16_t get_u16(reader *r)
{
    const uint8_t *p = take(r, 2);
    return p != NULL ? be16(p) : 0;
}

static uint32_t get_u32(reader *r)
{
    const uint8_t *p = take(r, 4);
    return p != NULL ? be32(p) : 0;
}

static uint64_t get_u64(reader *r)
{
    const uint8_t *p = take(r, 8);
    return p != NULL ? be64(p) : 0;
}

/* An AMQP short string kept by value: queue names, consumer tags, reply-to. */
typedef struct {
    uint8_t len;
    char s[255];
} name;

static void get_name(reader *r, name *out)
{
    uint8_t len = get_u8(r);
    const uint8_t *p = take(r, len);
    out->len = p != NULL ? len : 0;
    if (p != NULL) {
        memcpy(out->s, p, len);
    }
}

static void skip_shortstr(reader *r) { take(r, get_u8(r)); }

static bool name_equal(const name *a, const name *b)
{
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

/* Queue names and consumer tags the server makes up, numbered across all connections. */
static atomic_uint_fast64_t generated_names;

static void generate_name(name *out, const char *prefix)
{
    unsigned long long n = (unsigned long long)atomic_fetch_add(&generated_names, 1) + 1;
    out->len = (uint8_t)snprintf(out->s, sizeof out->s, "%s%llu", prefix, n);
}

/* ------------------------------------------------------------------ connection state */

typedef struct {
    uint16_t number;
    /* publisher confirms */
    bool confirm;
    uint64_t published; /* publishes completed since confirm.select */
    uint64_t acked;     /* the highest of them acked so far */
    /* the publish being received */
    bool expect_header;
    uint64_t body_left;
    bool echo; /* it carries reply-to: it goes back to that queue's consumer */
    name echo_to;
    buffer echo_header; /* its content header payload */
    buffer echo_body;
    /* deliveries */
    uint16_t prefetch;     /* basic.qos prefetch-count; 0 = unlimited */
    uint64_t delivery_tag; /* the last one used */
    uint64_t outstanding;  /* delivered to manual-ack consumers and not yet settled */
} channel;

typedef struct {
    uint16_t channel;
    bool no_ack;
    name tag;
    name queue;
    uint64_t remaining; /* null:COUNT:SIZE deliveries still to send */
    uint8_t *delivery;  /* one delivery's frames, encoded once */
    size_t delivery_size;
    size_t tag_at; /* where its delivery tag sits */
} consumer;

typedef enum { AWAIT_HEADER, AWAIT_START_OK, AWAIT_TUNE_OK, AWAIT_OPEN, OPEN, CLOSING } conn_state;

/* What handling input leads to: go on, close once the replies are out, or close at once (bad input). */
typedef enum { GO_ON, CLOSE, FAIL } step;

typedef struct {
    int fd;
    conn_state state;
    uint8_t *in; /* unparsed input is in[in_start, in_end) */
    size_t in_start;
    size_t in_end;
    buffer out; /* out.data[out_sent, out.len) waits to be sent */
    size_t out_sent;
    channel *channels[CHANNEL_MAX + 1];
    consumer *consumers;
    size_t n_consumers;
    size_t cap_consumers;
    size_t next_consumer; /* round robin: where the next batch of deliveries starts */
    uint16_t ack_due[CHANNEL_MAX + 1]; /* channels with publishes to confirm after this read */
    bool ack_listed[CHANNEL_MAX + 1];
    size_t n_ack_due;
    int64_t next_heartbeat; /* CLOCK_MONOTONIC ms */
} conn;

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static step fail(const char *why)
{
    fprintf(stderr, "nullbroker: closing a connection: %s\n", why);
    return FAIL;
}

static size_t pending(const conn *c) { return c->out.len - c->out_sent; }

static channel *channel_of(conn *c, uint16_t number)
{
    if (c->channels[number] == NULL) {
        c->channels[number] = calloc(1, sizeof(channel));
        if (c->channels[number] == NULL) {
            xrealloc(NULL, sizeof(channel)); /* reports and aborts */
        }
        c->channels[number]->number = number;
    }
    return c->channels[number];
}

/* Forgets a channel and its consumers (channel.close, or channel.open of a number in use). */
static void drop_channel(conn *c, uint16_t number)
{
    channel *ch = c->channels[number];
    if (ch != NULL) {
        free(ch->echo_header.data);
        free(ch->echo_body.data);
        free(ch);
        c->channels[number] = NULL;
    }
    size_t kept = 0;
    for (size_t i = 0; i < c->n_consumers; i++) {
        if (c->consumers[i].channel == number) {
            free(c->consumers[i].delivery);
        } else {
            c->consumers[kept++] = c->consumers[i];
        }
    }
    c->n_consumers = kept;
}

/* ------------------------------------------------------------------ handshake */

static void put_capability(buffer *b, const char *key)
{
    put_shortstr(b, key, (uint8_t)strlen(key));
    put_u8(b, 't'); /* boolean */
    put_u8(b, 1);
}

static void put_string_field(buffer *b, const char *key, const char *value)
{
    put_shortstr(b, key, (uint8_t)strlen(key));
    put_u8(b, 'S'); /* long string */
    put_longstr(b, value);
}

/* connection.start: version 0-9, the server properties (the capabilities clients look for), PLAIN. */
static void send_start(conn *c)
{
    static const char *const capabilities[] = {
        "publisher_confirms", "exchange_exchange_bindings", "basic.nack", "consumer_cancel_notify",
        "connection.blocked", "consumer_priorities", "authentication_failure_close", "per_consumer_qos",
        "direct_reply_to",
    };
    buffer *b = &c->out;
    size_t start = method_begin(b, 0, CONNECTION_START);
    put_u8(b, 0);
    put_u8(b, 9);
    size_t props = b->len;
    put_u32(b, 0); /* table size, patched below */
    put_string_field(b, "product", "Nucleon null broker");
    put_string_field(b, "version", "nullbroker.c");
    put_string_field(b, "platform", "C");
    put_shortstr(b, "capabilities", 12);
    put_u8(b, 'F'); /* nested table */
    size_t caps = b->len;
    put_u32(b, 0);
    for (size_t i = 0; i < sizeof capabilities / sizeof capabilities[0]; i++) {
        put_capability(b, capabilities[i]);
    }
    patch_u32(b->data + caps, (uint32_t)(b->len - caps - 4));
    patch_u32(b->data + props, (uint32_t)(b->len - props - 4));
    put_longstr(b, "PLAIN AMQPLAIN");
    put_longstr(b, "en_US");
    frame_end(b, start);
}

static void send_tune(conn *c)
{
    size_t start = method_begin(&c->out, 0, CONNECTION_TUNE);
    put_u16(&c->out, CHANNEL_MAX);
    put_u32(&c->out, FRAME_MAX);
    put_u16(&c->out, 0);
    frame_end(&c->out, start);
}

/* The handshake accepts only the method it waits for (heartbeats and other frames are skipped). */
static step on_handshake_method(conn *c, uint32_t id)
{
    if (c->state == AWAIT_START_OK && id == CONNECTION_START_OK) {
        send_tune(c); /* any credentials will do */
        c->state = AWAIT_TUNE_OK;
    } else if (c->state == AWAIT_TUNE_OK && id == CONNECTION_TUNE_OK) {
        c->state = AWAIT_OPEN;
    } else if (c->state == AWAIT_OPEN && id == CONNECTION_OPEN) {
        size_t start = method_begin(&c->out, 0, CONNECTION_OPEN_OK);
        put_u8(&c->out, 0); /* reserved short string */
        frame_end(&c->out, start);
        c->state = OPEN;
        c->next_heartbeat = now_ms() + HEARTBEAT_MS;
    } else {
        return fail("unexpected method during the handshake");
    }
    return GO_ON;
}

/* ------------------------------------------------------------------ publishes and confirms */

/* Confirms, with one basic.ack(multiple) per channel, every publish completed in this read buffer. */
static void add_confirms(conn *c)
{
    for (size_t i = 0; i < c->n_ack_due; i++) {
        uint16_t number = c->ack_due[i];
        c->ack_listed[number] = false;
        channel *ch = c->channels[number];
        if (ch != NULL && ch->published > ch->acked) {
            ch->acked = ch->published;
            size_t start = method_begin(&c->out, number, BASIC_ACK);
            put_u64(&c->out, ch->published);
            put_u8(&c->out, 1); /* multiple */
            frame_end(&c->out, start);
        }
    }
    c->n_ack_due = 0;
}

static consumer *consumer_of_queue(conn *c, const name *queue)
{
    for (size_t i = 0; i < c->n_consumers; i++) {
        if (name_equal(&c->consumers[i].queue, queue)) {
            return &c->consumers[i];
        }
    }
    return NULL;
}

/* Delivers the publish just completed on `from` to the first consumer of its reply-to queue (RPC echo). */
static void echo(conn *c, channel *from)
{
    consumer *k = consumer_of_queue(c, &from->echo_to);
    if (k == NULL) {
        return;
    }
    channel *to = channel_of(c, k->channel);
    to->delivery_tag++;
    if (!k->no_ack) {
        to->outstanding++;
    }
    buffer *b = &c->out;
    size_t start = method_begin(b, k->channel, BASIC_DELIVER);
    put_shortstr(b, k->tag.s, k->tag.len);
    put_u64(b, to->delivery_tag);
    put_u8(b, 0);              /* redelivered */
    put_shortstr(b, "", 0);    /* exchange */
    put_shortstr(b, from->echo_to.s, from->echo_to.len); /* routing key */
    frame_end(b, start);
    start = frame_begin(b, FRAME_HEADER, k->channel);
    put_bytes(b, from->echo_header.data, from->echo_header.len);
    frame_end(b, start);
    put_body(b, k->channel, from->echo_body.data, from->echo_body.len);
}

static void complete_publish(conn *c, channel *ch)
{
    if (ch->confirm && ++ch->published > ch->acked && !c->ack_listed[ch->number]) {
        c->ack_listed[ch->number] = true;
        c->ack_due[c->n_ack_due++] = ch->number;
    }
    if (ch->echo) {
        ch->echo = false;
        echo(c, ch);
    }
}

/* Reads reply-to: the properties before it are content-type, content-encoding, headers, delivery-mode,
 * priority and correlation-id (AMQP 0-9-1 basic class, in property-flag order). */
static void get_reply_to(reader *r, uint16_t flags, name *out)
{
    if (flags & 1 << 15) {
        skip_shortstr(r);
    }
    if (flags & 1 << 14) {
        skip_shortstr(r);
    }
    if (flags & 1 << 13) {
        take(r, get_u32(r)); /* the headers table, by its size */
    }
    if (flags & 1 << 12) {
        get_u8(r);
    }
    if (flags & 1 << 11) {
        get_u8(r);
    }
    if (flags & 1 << 10) {
        skip_shortstr(r);
    }
    get_name(r, out);
}

static step on_content_header(conn *c, uint16_t number, const uint8_t *payload, uint32_t size)
{
    channel *ch = channel_of(c, number);
    if (!ch->expect_header) {
        return GO_ON;
    }
    ch->expect_header = false;
    reader r = {payload, size, false};
    get_u16(&r); /* class */
    get_u16(&r); /* weight */
    uint64_t body_size = get_u64(&r);
    uint16_t flags = get_u16(&r);
    ch->echo = false;
    if (flags & REPLY_TO_FLAG) {
        get_reply_to(&r, flags, &ch->echo_to);
        if (body_size > MAX_BODY) {
            return fail("a publish with reply-to has a body too large to echo");
        }
        ch->echo = true;
        ch->echo_header.len = 0;
        put_bytes(&ch->echo_header, payload, size);
        ch->echo_body.len = 0;
    }
    if (r.bad) {
        return fail("content header frame too short");
    }
    ch->body_left = body_size;
    if (body_size == 0) {
        complete_publish(c, ch);
    }
    return GO_ON;
}

static void on_body(conn *c, uint16_t number, const uint8_t *payload, uint32_t size)
{
    channel *ch = channel_of(c, number);
    if (ch->body_left == 0) {
        return;
    }
    if (ch->echo) {
        put_bytes(&ch->echo_body, payload, size < ch->body_left ? size : ch->body_left);
    }
    ch->body_left = size < ch->body_left ? ch->body_left - size : 0;
    if (ch->body_left == 0) {
        complete_publish(c, ch);
    }
}

/* ------------------------------------------------------------------ consumers */

/* Queues named null:COUNT or null:COUNT:SIZE (SIZE 32 by default) stream COUNT messages of SIZE bytes. */
static bool is_null_queue(const name *q) { return q->len >= 5 && memcmp(q->s, "null:", 5) == 0; }

/* Reads decimal digits up to ':' or the end; false when there are none or the value passes max. */
static bool parse_number(const char **p, const char *end, uint64_t max, uint64_t *out)
{
    const char *start = *p;
    uint64_t v = 0;
    for (; *p < end && **p != ':'; (*p)++) {
        if (**p < '0' || **p > '9' || v > (max - (uint64_t)(**p - '0')) / 10) {
            return false;
        }
        v = v * 10 + (uint64_t)(**p - '0');
    }
    *out = v;
    return *p > start;
}

static bool parse_null_queue(const name *q, uint64_t *count, uint64_t *size)
{
    const char *p = q->s + 5, *end = q->s + q->len;
    *size = 32;
    if (!parse_number(&p, end, INT64_MAX, count)) {
        return false;
    }
    if (p == end) {
        return true;
    }
    p++; /* ':' */
    return parse_number(&p, end, MAX_BODY, size) && p == end;
}

/* Encodes one delivery of `size` bytes for consumer k: basic.deliver, a content header without
 * properties and the body frames. Only the delivery tag differs between copies. */
static void encode_delivery(consumer *k, uint64_t size)
{
    buffer b = {0};
    size_t start = method_begin(&b, k->channel, BASIC_DELIVER);
    put_shortstr(&b, k->tag.s, k->tag.len);
    k->tag_at = b.len;
    put_u64(&b, 0);
    put_u8(&b, 0);                          /* redelivered */
    put_shortstr(&b, "", 0);                /* exchange */
    put_shortstr(&b, k->queue.s, k->queue.len); /* routing key */
    frame_end(&b, start);
    start = frame_begin(&b, FRAME_HEADER, k->channel);
    put_u16(&b, BASIC_CLASS);
    put_u16(&b, 0); /* weight */
    put_u64(&b, size);
    put_u16(&b, 0); /* no properties */
    frame_end(&b, start);
    uint8_t *body = malloc(size != 0 ? size : 1);
    if (body == NULL) {
        xrealloc(NULL, size); /* reports and aborts */
    }
    for (uint64_t i = 0; i < size; i++) {
        body[i] = (uint8_t)(i * 131 + 7); /* any bytes will do; not all zeros */
    }
    put_body(&b, k->channel, body, size);
    free(body);
    k->delivery = b.data;
    k->delivery_size = b.len;
}

static step basic_consume(conn *c, uint16_t number, reader *r)
{
    consumer k = {0};
    get_u16(r); /* reserved */
    get_name(r, &k.queue);
    get_name(r, &k.tag);
    uint8_t flags = get_u8(r); /* no-local, no-ack, exclusive, no-wait */
    if (r->bad) {
        return fail("basic.consume too short");
    }
    k.channel = number;
    k.no_ack = flags & 2;
    if (k.tag.len == 0) {
        generate_name(&k.tag, "amq.ctag-null-");
    }
    uint64_t size = 0;
    if (is_null_queue(&k.queue)) {
        if (!parse_null_queue(&k.queue, &k.remaining, &size)) {
            return fail("malformed null:COUNT:SIZE queue name");
        }
        encode_delivery(&k, size);
    }
    channel_of(c, number);
    /* consume-ok goes out first: deliveries are only added once this read buffer has been parsed. */
    if (!(flags & 8)) {
        size_t start = method_begin(&c->out, number, BASIC_CONSUME_OK);
        put_shortstr(&c->out, k.tag.s, k.tag.len);
        frame_end(&c->out, start);
    }
    if (c->n_consumers == c->cap_consumers) {
        c->cap_consumers = c->cap_consumers != 0 ? c->cap_consumers * 2 : 8;
        c->consumers = xrealloc(c->consumers, c->cap_consumers * sizeof(consumer));
    }
    c->consumers[c->n_consumers++] = k;
    return GO_ON;
}

static step basic_cancel(conn *c, uint16_t number, reader *r)
{
    name tag;
    get_name(r, &tag);
    uint8_t flags = get_u8(r); /* no-wait */
    if (r->bad) {
        return fail("basic.cancel too short");
    }
    size_t kept = 0;
    for (size_t i = 0; i < c->n_consumers; i++) {
        consumer *k = &c->consumers[i];
        if (k->channel == number && name_equal(&k->tag, &tag)) {
            free(k->delivery);
        } else {
            c->consumers[kept++] = *k;
        }
    }
    c->n_consumers = kept;
    if (!(flags & 1)) {
        size_t start = method_begin(&c->out, number, BASIC_CANCEL_OK);
        put_shortstr(&c->out, tag.s, tag.len);
        frame_end(&c->out, start);
    }
    return GO_ON;
}

/* basic.ack, nack and reject return credit: multiple settles everything up to tag (0: everything). */
static void settle(conn *c, uint16_t number, uint64_t tag, bool multiple)
{
    channel *ch = c->channels[number];
    if (ch == NULL) {
        return;
    }
    if (multiple) {
        ch->outstanding = tag != 0 && ch->delivery_tag > tag ? ch->delivery_tag - tag : 0;
    } else if (ch->outstanding > 0) {
        ch->outstanding--;
    }
}

/* How many deliveries consumer k may be sent now: what its queue has left, within its channel's prefetch. */
static uint64_t sendable(const conn *c, const consumer *k)
{
    const channel *ch = c->channels[k->channel];
    if (k->no_ack || ch->prefetch == 0) {
        return k->remaining;
    }
    uint64_t room = ch->outstanding < ch->prefetch ? ch->prefetch - ch->outstanding : 0;
    return room < k->remaining ? room : k->remaining;
}

static bool deliveries_ready(const conn *c)
{
    for (size_t i = 0; i < c->n_consumers; i++) {
        if (sendable(c, &c->consumers[i]) > 0) {
            return true;
        }
    }
    return false;
}

/* Adds deliveries while less than BATCH bytes wait, taking consumers round robin so none starves. */
static void add_deliveries(conn *c)
{
    size_t n = c->n_consumers;
    for (size_t i = 0; i < n && pending(c) < BATCH; i++) {
        consumer *k = &c->consumers[(c->next_consumer + i) % n];
        uint64_t count = sendable(c, k);
        if (count == 0) {
            continue; /* also every consumer of an ordinary queue: it only gets echoes */
        }
        uint64_t fit = (BATCH - pending(c)) / k->delivery_size;
        if (fit == 0) {
            fit = 1; /* a delivery larger than what is left of the batch goes on its own */
        }
        count = count < fit ? count : fit;
        channel *ch = c->channels[k->channel];
        uint8_t *dst = buf_room(&c->out, count * k->delivery_size);
        for (uint64_t j = 0; j < count; j++, dst += k->delivery_size) {
            memcpy(dst, k->delivery, k->delivery_size);
            patch_u64(dst + k->tag_at, ++ch->delivery_tag);
        }
        c->out.len += count * k->delivery_size;
        k->remaining -= count;
        if (!k->no_ack) {
            ch->outstanding += count;
        }
    }
    c->next_consumer++;
}

/* ------------------------------------------------------------------ methods */

/* Skips the reserved short and `strings` short strings to the flags octet; true unless its no-wait bit is set. */
static bool wants_reply(reader *r, int strings, int nowait_bit)
{
    get_u16(r);
    for (int i = 0; i < strings; i++) {
        skip_shortstr(r);
    }
    uint8_t flags = get_u8(r);
    return !(flags >> nowait_bit & 1);
}

static step queue_declare(conn *c, uint16_t number, reader *r)
{
    name queue;
    get_u16(r); /* reserved */
    get_name(r, &queue);
    uint8_t flags = get_u8(r); /* passive, durable, exclusive, auto-delete, no-wait */
    if (r->bad) {
        return fail("queue.declare too short");
    }
    if (queue.len == 0) {
        generate_name(&queue, "amq.gen-null-");
    }
    uint64_t count = 0, size;
    if (is_null_queue(&queue) && !parse_null_queue(&queue, &count, &size)) {
        return fail("malformed null:COUNT:SIZE queue name");
    }
    if (!(flags & 1 << 4)) {
        size_t start = method_begin(&c->out, number, QUEUE_DECLARE_OK);
        put_shortstr(&c->out, queue.s, queue.len);
        put_u32(&c->out, count < UINT32_MAX ? (uint32_t)count : UINT32_MAX); /* message count */
        put_u32(&c->out, 0);                                                /* consumer count */
        frame_end(&c->out, start);
    }
    return GO_ON;
}

/* The methods that only need their -ok (when they want one): declare, delete, bind, purge and the like. */
static void answer_simple(conn *c, uint16_t number, uint32_t id, reader *r)
{
    buffer *b = &c->out;
    switch (id) {
    case EXCHANGE_DECLARE: /* exchange, type; no-wait is bit 4 */
        if (wants_reply(r, 2, 4)) put_method(b, number, EXCHANGE_DECLARE_OK);
        break;
    case EXCHANGE_DELETE: /* exchange; if-unused, no-wait */
        if (wants_reply(r, 1, 1)) put_method(b, number, EXCHANGE_DELETE_OK);
        break;
    case EXCHANGE_BIND: /* destination, source, routing key; no-wait */
        if (wants_reply(r, 3, 0)) put_method(b, number, EXCHANGE_BIND_OK);
        break;
    case EXCHANGE_UNBIND:
        if (wants_reply(r, 3, 0)) put_method(b, number, EXCHANGE_UNBIND_OK);
        break;
    case QUEUE_BIND: /* queue, exchange, routing key; no-wait */
        if (wants_reply(r, 3, 0)) put_method(b, number, QUEUE_BIND_OK);
        break;
    case QUEUE_UNBIND: /* has no no-wait */
        put_method(b, number, QUEUE_UNBIND_OK);
        break;
    case QUEUE_PURGE: /* queue; no-wait */
        if (wants_reply(r, 1, 0)) put_method_count(b, number, QUEUE_PURGE_OK, 0);
        break;
    case QUEUE_DELETE: /* queue; if-unused, if-empty, no-wait */
        if (wants_reply(r, 1, 2)) put_method_count(b, number, QUEUE_DELETE_OK, 0);
        break;
    case BASIC_GET: {
        size_t start = method_begin(b, number, BASIC_GET_EMPTY);
        put_u8(b, 0); /* reserved short string */
        frame_end(b, start);
        break;
    }
    case BASIC_RECOVER:
    case TX_SELECT:
    case TX_COMMIT:
    case TX_ROLLBACK:
        put_method(b, number, id + 1); /* each of these -oks is the next method id and has no arguments */
        break;
    default:
        break; /* asynchronous methods with nothing to answer, e.g. basic.recover-async */
    }
}

static step on_method(conn *c, uint16_t number, const uint8_t *payload, uint32_t size)
{
    reader r = {payload, size, false};
    uint32_t id = get_u32(&r);
    if (r.bad) {
        return fail("method frame too short");
    }
    if (c->state != OPEN) {
        return on_handshake_method(c, id);
    }
    step s = GO_ON;
    switch (id) {
    case BASIC_PUBLISH: /* where it goes does not matter: it is discarded */
        channel_of(c, number)->expect_header = true;
        return GO_ON;
    case BASIC_ACK:
    case BASIC_NACK: {
        uint64_t tag = get_u64(&r);
        settle(c, number, tag, get_u8(&r) & 1);
        break;
    }
    case BASIC_REJECT:
        settle(c, number, get_u64(&r), false);
        break;
    case CONNECTION_CLOSE:
        add_confirms(c); /* what arrived before the close is confirmed before close-ok */
        put_method(&c->out, 0, CONNECTION_CLOSE_OK);
        s = CLOSE;
        break;
    case CONNECTION_CLOSE_OK:
        s = CLOSE;
        break;
    case CHANNEL_OPEN: {
        drop_channel(c, number);
        channel_of(c, number);
        size_t start = method_begin(&c->out, number, CHANNEL_OPEN_OK);
        put_longstr(&c->out, ""); /* reserved */
        frame_end(&c->out, start);
        break;
    }
    case CHANNEL_CLOSE:
        drop_channel(c, number);
        put_method(&c->out, number, CHANNEL_CLOSE_OK);
        break;
    case CHANNEL_CLOSE_OK:
        drop_channel(c, number);
        break;
    case CHANNEL_FLOW: {
        uint8_t active = get_u8(&r) & 1;
        size_t start = method_begin(&c->out, number, CHANNEL_FLOW_OK);
        put_u8(&c->out, active);
        frame_end(&c->out, start);
        break;
    }
    case QUEUE_DECLARE:
        s = queue_declare(c, number, &r);
        break;
    case BASIC_QOS:
        get_u32(&r); /* prefetch-size */
        channel_of(c, number)->prefetch = get_u16(&r);
        put_method(&c->out, number, BASIC_QOS_OK);
        break;
    case BASIC_CONSUME:
        s = basic_consume(c, number, &r);
        break;
    case BASIC_CANCEL:
        s = basic_cancel(c, number, &r);
        break;
    case CONFIRM_SELECT:
        channel_of(c, number)->confirm = true;
        if (!(get_u8(&r) & 1)) { /* no-wait */
            put_method(&c->out, number, CONFIRM_SELECT_OK);
        }
        break;
    default:
        answer_simple(c, number, id, &r);
        break;
    }
    return s == GO_ON && r.bad ? fail("method frame too short") : s;
}

/* ------------------------------------------------------------------ input */

static step on_frame(conn *c, uint8_t type, uint16_t number, const uint8_t *payload, uint32_t size)
{
    if (number > CHANNEL_MAX) {
        return fail("channel number above channel-max");
    }
    switch (type) {
    case FRAME_METHOD:
        return on_method(c, number, payload, size);
    case FRAME_HEADER:
        return c->state == OPEN ? on_content_header(c, number, payload, size) : GO_ON;
    case FRAME_BODY:
        if (c->state == OPEN) {
            on_body(c, number, payload, size);
        }
        return GO_ON;
    case FRAME_HEARTBEAT:
        return GO_ON; /* nothing to answer: any frame proves we are alive */
    default:
        return fail("unknown frame type");
    }
}

/* Handles every complete frame in the input buffer; a partial one stays for the next read. */
static step parse(conn *c)
{
    if (c->state == AWAIT_HEADER) {
        if (c->in_end - c->in_start < sizeof PROTOCOL_HEADER) {
            return GO_ON;
        }
        if (memcmp(c->in + c->in_start, PROTOCOL_HEADER, sizeof PROTOCOL_HEADER) != 0) {
            /* The spec's answer to an unknown protocol: the header we speak, then close. */
            put_bytes(&c->out, PROTOCOL_HEADER, sizeof PROTOCOL_HEADER);
            return CLOSE;
        }
        c->in_start += sizeof PROTOCOL_HEADER;
        send_start(c);
        c->state = AWAIT_START_OK;
    }
    while (c->in_end - c->in_start >= FRAME_HEADER_SIZE) {
        const uint8_t *p = c->in + c->in_start;
        uint32_t size = be32(p + 3);
        if (size > FRAME_MAX - FRAME_OVERHEAD) {
            return fail("frame larger than frame-max");
        }
        if (c->in_end - c->in_start < size + FRAME_OVERHEAD) {
            break;
        }
        if (p[FRAME_HEADER_SIZE + size] != FRAME_END) {
            return fail("frame-end octet missing");
        }
        c->in_start += size + FRAME_OVERHEAD;
        step s = on_frame(c, p[0], be16(p + 1), p + FRAME_HEADER_SIZE, size);
        if (s != GO_ON) {
            return s;
        }
    }
    return GO_ON;
}

/* One read, its frames handled, then the confirms it earned. */
static step receive(conn *c)
{
    if (c->in_start == c->in_end) {
        c->in_start = c->in_end = 0;
    } else if (IN_SIZE - c->in_end < FRAME_MAX) {
        /* Keep room for a whole frame after the partial one: move it to the front. */
        memmove(c->in, c->in + c->in_start, c->in_end - c->in_start);
        c->in_end -= c->in_start;
        c->in_start = 0;
    }
    ssize_t n = recv(c->fd, c->in + c->in_end, IN_SIZE - c->in_end, 0);
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? GO_ON : FAIL;
    }
    if (n == 0) {
        return FAIL; /* the client hung up */
    }
    c->in_end += (size_t)n;
    step s = parse(c);
    if (s == GO_ON) {
        add_confirms(c);
    }
    return s;
}

/* ------------------------------------------------------------------ output */

/* One send of everything pending (the kernel may take less); false when the socket failed. */
static bool flush(conn *c)
{
    ssize_t n = send(c->fd, c->out.data + c->out_sent, pending(c), MSG_NOSIGNAL);
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
    c->out_sent += (size_t)n;
    if (c->out_sent == c->out.len) {
        c->out.len = c->out_sent = 0;
    } else if (c->out_sent >= pending(c)) {
        /* Moving the rest to the front copies fewer bytes than were sent since the last move. */
        memmove(c->out.data, c->out.data + c->out_sent, pending(c));
        c->out.len = pending(c);
        c->out_sent = 0;
    }
    return true;
}

static void add_heartbeat_if_due(conn *c)
{
    static const uint8_t heartbeat[FRAME_OVERHEAD] = {FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END};
    if (c->state == OPEN && now_ms() >= c->next_heartbeat) {
        put_bytes(&c->out, heartbeat, sizeof heartbeat);
        c->next_heartbeat = now_ms() + HEARTBEAT_MS;
    }
}

static int poll_timeout(const conn *c)
{
    if (c->state == CLOSING) {
        return CLOSE_WAIT_MS;
    }
    if (c->state != OPEN) {
        return -1;
    }
    int64_t left = c->next_heartbeat - now_ms();
    return left > 0 ? (int)left : 0;
}

/* ------------------------------------------------------------------ a connection's thread */

static void serve(conn *c)
{
    for (;;) {
        if (c->state == OPEN) {
            add_deliveries(c);
        }
        if (pending(c) > 0 && !flush(c)) {
            return;
        }
        if (c->state == CLOSING && pending(c) == 0) {
            return;
        }
        struct pollfd p = {.fd = c->fd, .events = 0, .revents = 0};
        if (c->state != CLOSING && pending(c) <= OUT_HIGH) {
            p.events |= POLLIN;
        }
        /* Waiting for room in the socket: to send what is pending, or the next batch of deliveries. */
        if (pending(c) > 0 || (c->state == OPEN && deliveries_ready(c))) {
            p.events |= POLLOUT;
        }
        int ready = poll(&p, 1, poll_timeout(c));
        if (ready < 0 && errno != EINTR) {
            return;
        }
        if (ready == 0 && c->state == CLOSING) {
            return; /* close-ok did not leave in time */
        }
        if (p.revents & POLLIN) {
            step s = receive(c);
            if (s == FAIL) {
                return;
            }
            if (s == CLOSE) {
                c->state = CLOSING;
            }
        } else if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) {
            return;
        }
        add_heartbeat_if_due(c);
    }
}

static void conn_free(conn *c)
{
    for (unsigned i = 0; i <= CHANNEL_MAX; i++) {
        drop_channel(c, (uint16_t)i);
    }
    free(c->consumers);
    free(c->in);
    free(c->out.data);
    free(c);
}

static void *connection_thread(void *arg)
{
    conn *c = arg;
    serve(c);
    close(c->fd);
    conn_free(c);
    return NULL;
}

/* ------------------------------------------------------------------ process */

static void start_connection(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    conn *c = calloc(1, sizeof(conn));
    if (c == NULL || (c->in = malloc(IN_SIZE)) == NULL) {
        fprintf(stderr, "nullbroker: out of memory for a connection\n");
        free(c);
        close(fd);
        return;
    }
    c->fd = fd;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    int rc = pthread_create(&thread, &attr, connection_thread, c);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        fprintf(stderr, "nullbroker: cannot start a connection thread: %s\n", strerror(rc));
        close(fd);
        conn_free(c);
    }
}

static void accept_one(int listener)
{
    int fd = accept(listener, NULL, NULL);
    if (fd >= 0) {
        start_connection(fd);
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED) {
        /* Out of descriptors or memory: say so, and do not spin while it lasts. */
        perror("nullbroker: accept");
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(fd, 128) != 0) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

static int bound_port(int fd)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    return ntohs(addr.sin_port);
}

/* SIGTERM and SIGINT are blocked in every thread and taken here, so no socket call is interrupted. */
static void *signal_thread(void *arg)
{
    int sig;
    sigwait((sigset_t *)arg, &sig);
    _exit(0);
}

/* Reads and ignores stdin (the .NET broker's --track commands do not apply); false at end-of-file. */
static bool stdin_open(void)
{
    char scratch[4096];
    ssize_t n = read(STDIN_FILENO, scratch, sizeof scratch);
    return n > 0 || (n < 0 && (errno == EINTR || errno == EAGAIN));
}

static int usage(void)
{
    fprintf(stderr, "usage: nullbroker [--port N]   (N = 0: an ephemeral port)\n");
    return 2;
}

int main(int argc, char **argv)
{
    long port = 0;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = strtol(argv[++i], &end, 10);
            if (*end != '\0' || port < 0 || port > 65535) {
                return usage();
            }
        } else {
            return usage();
        }
    }

    static sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    pthread_t signals;
    if (pthread_create(&signals, NULL, signal_thread, &stop_signals) != 0) {
        fprintf(stderr, "nullbroker: cannot start the signal thread\n");
        return 1;
    }

    int listener = listen_on((int)port);
    if (listener < 0) {
        perror("nullbroker: listen");
        return 1;
    }
    printf("LISTENING %d\n", bound_port(listener));
    fflush(stdout);

    /* The parent closes our stdin to stop us. */
    for (;;) {
        struct pollfd p[2] = {{.fd = listener, .events = POLLIN}, {.fd = STDIN_FILENO, .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            perror("nullbroker: poll");
            return 1;
        }
        if (p[1].revents != 0 && !stdin_open()) {
            return 0;
        }
        if (p[0].revents & POLLIN) {
            accept_one(listener);
        }
    }
}
