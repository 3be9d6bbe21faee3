/* Fuzz target: raw bytes of HTTP requests into the HTTP transport (src/api/http.c) exactly as a
 * client's connection delivers them: libmicrohttpd's parser, then our access handler (CORS
 * preflight, body limits, long-poll parking and waking, the API routes and their handlers:
 * sessions, handles, messages to plugins, and the static files).
 *
 * The transport is started once (as main.c does: sessions, API, plugins, then the transport)
 * with the echotest plugin compiled in and a small plugin of this target's ("fuzz.http": a
 * message with "wait" answers asynchronously, through an event). No media loop runs, so an
 * offer stops where the peer would be created (fuzz_sdp and fuzz_stun cover what follows).
 * Per input: every session is destroyed and one session with one handle of each plugin is
 * made; the input's "$S", "$H" and "$E" become their ids (so paths like /janus/$S/$H reach
 * them); the bytes go through one end of a socketpair whose other end MHD took as a client
 * connection (sb_http_add_connection, the one hook in http.c), the write side is shut once
 * MHD has read them, and the replies are read until MHD closes. A parked long-poll is expired
 * (the transport's tick) when nothing arrives for a few milliseconds.
 * Invariants (abort = finding): the connection always ends (no hang); no reply ever carries a
 * file from outside the static folder (a canary file sits next to it; only a request that
 * spells the canary itself may get it quoted back); every reply whose Content-Type is JSON is
 * an object with a "janus" string, or an array of them (ours are; checked when the replies
 * can be framed, i.e. no HEAD in the input).
 * SB_FUZZ_HTTP_DUMP=1 prints the replies to stderr (to see what a seed reaches).
 * Does not: run TLS, WebSocket (its own target), or media loops.
 * Thread: libFuzzer's, plus MHD's internal thread and echotest's; inputs run one at a time.
 * Build (libFuzzer): scripts/fuzz.sh, or clang -fsanitize=fuzzer,address,undefined -I src
 * -I <builddir> tests/fuzz/fuzz_http.c plugins/echotest/echotest.c <builddir>/libsb.a ... */
#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/sockios.h>

#include "api/request.h"
#include "api/transport.h"
#include "base/log.h"
#include "switchboard/time.h"
#include "config/config.h"
#include "session/handle.h"
#include "session/session.h"
#include "plugin/loader.h"

#define FUZZ_MAX_INPUT 65536
#define FUZZ_MAX_REPLY (1 << 20)
#define FUZZ_QUIET_MS 3       /* nothing for this long: expire parked long-polls */
#define FUZZ_HANG_US 10000000 /* a connection still open after this long is a finding */
#define FUZZ_CANARY "sb-fuzz-http-canary-8d1f2c"

#define FUZZ_CHECK(cond)                                                                      \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n", __FILE__, __LINE__,       \
                    #cond);                                                                   \
            abort();                                                                          \
        }                                                                                     \
    } while (0)

const sb_plugin_t *sb_plugin_get(const sb_core_api_t *core); /* plugins/echotest/echotest.c, compiled in */

static struct {
    sb_config_t cfg;
    sb_sessions_config_t sessions;
    char dir[64]; /* temporary: dir/www is the static folder, dir/secret.txt the canary */
    const sb_core_api_t *core;
    uint64_t sid, hid, eid;
    char *req;    /* the input with its ids filled in */
    uint8_t *out; /* what came back */
    size_t out_len;
} fz;

/* ---- the target's own plugin -------------------------------------------------------------- */

static int fuzz_plugin_init(const sb_core_api_t *core, const char *dir)
{
    (void)dir;
    fz.core = core;
    return 0;
}

static int fuzz_plugin_create(sb_plugin_handle_t *h)
{
    h->plugin_data = NULL;
    return 0;
}

/* "wait" in the body: answered later, with the body echoed as an event (a long-poll gets it);
 * anything else: answered at once. */
static sb_plugin_result_t fuzz_plugin_message(sb_plugin_handle_t *h, const char *tr,
                                              json_t *body, json_t *jsep)
{
    if (json_object_get(body, "wait")) {
        fz.core->push_event(h, tr, body, jsep);
        return sb_plugin_wait();
    }
    return sb_plugin_ok(json_pack("{s:s}", "fuzz", "ok"));
}

static void fuzz_plugin_destroy(sb_plugin_handle_t *h)
{
    (void)h;
}

static const sb_plugin_t fuzz_plugin = {
    SB_PLUGIN_HEADER,
    .package = "fuzz.http",
    .init = fuzz_plugin_init,
    .create_handle = fuzz_plugin_create,
    .handle_message = fuzz_plugin_message,
    .destroy_handle = fuzz_plugin_destroy,
};

/* ---- set-up ------------------------------------------------------------------------------- */

static void fuzz_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    FUZZ_CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

static void fuzz_remove_files(void)
{
    static const char *const files[] = {"www/assets/app.css", "www/app.js", "www/index.html",
                                        "secret.txt", "www/assets", "www"};
    char path[128];
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", fz.dir, files[i]);
        remove(path);
    }
    rmdir(fz.dir);
}

/* A static folder with an index, a script and an asset, and a canary file beside it. */
static void fuzz_make_files(void)
{
    char path[128];
    snprintf(fz.dir, sizeof(fz.dir), "/tmp/sb-fuzz-http-XXXXXX");
    FUZZ_CHECK(mkdtemp(fz.dir) != NULL);
    snprintf(path, sizeof(path), "%s/secret.txt", fz.dir);
    fuzz_write_file(path, FUZZ_CANARY "\n");
    snprintf(path, sizeof(path), "%s/www", fz.dir);
    FUZZ_CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof(path), "%s/www/assets", fz.dir);
    FUZZ_CHECK(mkdir(path, 0700) == 0);
    snprintf(path, sizeof(path), "%s/www/index.html", fz.dir);
    fuzz_write_file(path, "<!doctype html><title>switchboard</title>\n");
    snprintf(path, sizeof(path), "%s/www/app.js", fz.dir);
    fuzz_write_file(path, "console.log('switchboard');\n");
    snprintf(path, sizeof(path), "%s/www/assets/app.css", fz.dir);
    fuzz_write_file(path, "body { margin: 0 }\n");
    atexit(fuzz_remove_files);
}

static void fuzz_setup(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    signal(SIGPIPE, SIG_IGN);
    sb_log_set_level(SB_LOG_ERROR);
    fuzz_make_files();
    sb_config_defaults(&fz.cfg);
    char www[128];
    snprintf(www, sizeof(www), "%s/www", fz.dir);
    FUZZ_CHECK(sb_config_set(&fz.cfg, "general.html_folder", www) == 0);
    FUZZ_CHECK(sb_config_set(&fz.cfg, "http.bind", "127.0.0.1") == 0);
    FUZZ_CHECK(sb_config_set(&fz.cfg, "http.port", "0") == 0);
    FUZZ_CHECK(sb_config_set(&fz.cfg, "http.max_body_size", "16384") == 0);
    fz.sessions = (sb_sessions_config_t){.timeout_s = 0, .max_sessions = 16,
                                         .max_handles_per_session = 8, .event_queue_max = 16};
    sb_sessions_init(&fz.sessions);
    sb_api_init(&(sb_api_config_t){.server_name = NULL});
    FUZZ_CHECK(sb_plugins_add(sb_plugin_get(sb_core_api()), NULL) == 0);
    FUZZ_CHECK(sb_plugins_add(&fuzz_plugin, NULL) == 0);
    FUZZ_CHECK(sb_transport_http.start(&fz.cfg) == 0);
    fz.req = malloc(FUZZ_MAX_INPUT * 8 + 1);
    fz.out = malloc(FUZZ_MAX_REPLY);
    FUZZ_CHECK(fz.req && fz.out);
}

/* Every session goes (as at shutdown); a fresh one with a handle of each plugin comes. */
static void fuzz_reset_sessions(void)
{
    sb_sessions_deinit();
    sb_sessions_init(&fz.sessions);
    sb_session_t *s;
    sb_handle_t *h, *e;
    FUZZ_CHECK(sb_session_create(NULL, &s) == 0);
    FUZZ_CHECK(sb_handle_create(s, &fuzz_plugin, NULL, &h) == 0);
    FUZZ_CHECK(sb_handle_create(s, sb_plugin_get(sb_core_api()), NULL, &e) == 0);
    fz.sid = sb_session_id(s);
    fz.hid = sb_handle_id(h);
    fz.eid = sb_handle_id(e);
    sb_handle_unref(h);
    sb_handle_unref(e);
    sb_session_unref(s);
}

/* The input with "$S", "$H", "$E" replaced by the ids; returns its length. */
static size_t fuzz_expand(const uint8_t *data, size_t size)
{
    size_t n = 0;
    for (size_t i = 0; i < size; i++) {
        uint64_t id = 0;
        if (data[i] == '$' && i + 1 < size)
            id = data[i + 1] == 'S' ? fz.sid : data[i + 1] == 'H' ? fz.hid
                                              : data[i + 1] == 'E' ? fz.eid
                                                                   : 0;
        if (id) {
            n += (size_t)sprintf(fz.req + n, "%llu", (unsigned long long)id);
            i++;
        } else {
            fz.req[n++] = (char)data[i];
        }
    }
    return n;
}

/* ---- one connection ------------------------------------------------------------------------ */

static void fuzz_read_some(int fd, bool *eof)
{
    uint8_t sink[4096];
    uint8_t *to = fz.out_len < FUZZ_MAX_REPLY ? fz.out + fz.out_len : sink;
    size_t room = fz.out_len < FUZZ_MAX_REPLY ? FUZZ_MAX_REPLY - fz.out_len : sizeof(sink);
    ssize_t n = recv(fd, to, room, 0);
    if (n > 0 && to != sink)
        fz.out_len += (size_t)n;
    else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
        *eof = true; /* closed, or reset by MHD */
}

/* True once MHD has read everything we wrote (for a Unix socket, SIOCOUTQ counts what the
 * peer has not read yet). */
static bool fuzz_all_read(int fd)
{
    int queued = 0;
    return ioctl(fd, SIOCOUTQ, &queued) == 0 && queued == 0;
}

/* Writes req into fd, shuts the write side once MHD has read it all, and reads what comes
 * back until MHD closes; a short silence expires parked long-polls. The end of input is sent
 * only after the last bytes were read: libmicrohttpd 0.9.75 (epoll, edge-triggered) takes a
 * short read as "drained" and misses an end of input that came with the last bytes, keeping
 * the connection until its 120 s timeout. */
static void fuzz_exchange(int fd, const char *req, size_t len)
{
    size_t sent = 0;
    bool eof = false, shut = false;
    int64_t deadline = sb_now_us() + FUZZ_HANG_US;
    fz.out_len = 0;
    while (!eof) {
        if (sent == len && !shut && fuzz_all_read(fd)) {
            shutdown(fd, SHUT_WR);
            shut = true;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0)};
        int r = poll(&p, 1, FUZZ_QUIET_MS);
        if (sb_now_us() >= deadline) { /* the connection never ended: a hang */
            fprintf(stderr, "fuzz_http: sent %zu of %zu bytes%s, %zu back:\n", sent, len,
                    shut ? " (write side shut)" : "", fz.out_len);
            fwrite(fz.out, 1, fz.out_len, stderr);
            FUZZ_CHECK(!"the connection ended");
        }
        if (r == 0) {
            sb_transport_http.tick(INT64_MAX);
            continue;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR))
            fuzz_read_some(fd, &eof);
        if (sent < len && (p.revents & POLLOUT)) {
            ssize_t n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EINTR)
                sent = len; /* MHD closed its side: nothing more goes in */
        }
    }
}

/* ---- the replies -------------------------------------------------------------------------- */

static const char *fuzz_find(const char *hay, size_t n, const char *needle)
{
    return memmem(hay, n, needle, strlen(needle));
}

/* Value of header `name` within the header block [h, h + n) (case-insensitive name), or NULL;
 * *len is its length. */
static const char *fuzz_header(const char *h, size_t n, const char *name, size_t *len)
{
    size_t nl = strlen(name);
    for (const char *line = h; line < h + n;) {
        const char *end = fuzz_find(line, (size_t)(h + n - line), "\r\n");
        if (!end)
            end = h + n;
        if ((size_t)(end - line) > nl + 1 && !strncasecmp(line, name, nl) && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (v < end && *v == ' ')
                v++;
            *len = (size_t)(end - v);
            return v;
        }
        line = end + 2;
    }
    return NULL;
}

static bool fuzz_is_message(const json_t *j)
{
    return json_is_object(j) && json_is_string(json_object_get(j, "janus"));
}

/* A JSON reply of ours: an object with a "janus" string, or (a long-poll with maxev) a
 * non-empty array of them. */
static void fuzz_check_json(const char *body, size_t len)
{
    json_error_t err;
    json_t *j = json_loadb(body, len, 0, &err);
    if (json_is_array(j)) {
        FUZZ_CHECK(json_array_size(j) > 0);
        for (size_t i = 0; i < json_array_size(j); i++)
            FUZZ_CHECK(fuzz_is_message(json_array_get(j, i)));
    } else {
        FUZZ_CHECK(fuzz_is_message(j));
    }
    json_decref(j);
}

/* Walks the replies by their framing (status line, headers, Content-Length body) and checks
 * the JSON ones. Stops quietly at anything it cannot frame. */
static void fuzz_check_replies(const char *out, size_t n)
{
    size_t off = 0;
    while (off < n) {
        const char *r = out + off;
        const char *hend = fuzz_find(r, n - off, "\r\n\r\n");
        if (strncmp(r, "HTTP/1.", 7) != 0 || !hend)
            return;
        size_t hlen = (size_t)(hend - r), tlen, clen_len;
        const char *type = fuzz_header(r, hlen, "Content-Type", &tlen);
        const char *clen = fuzz_header(r, hlen, "Content-Length", &clen_len);
        off += hlen + 4;
        if (!clen)
            continue; /* 1xx, 204, 304: no body */
        size_t body = strtoul(clen, NULL, 10);
        if (body > n - off || fuzz_header(r, hlen, "Transfer-Encoding", &tlen))
            return;
        if (type && tlen >= 16 && !strncmp(type, "application/json", 16))
            fuzz_check_json(out + off, body);
        off += body;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_setup();
    if (size > FUZZ_MAX_INPUT)
        return 0;
    fuzz_reset_sessions();
    size_t len = fuzz_expand(data, size);
    int sv[2];
    FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
    FUZZ_CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0 && fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
    FUZZ_CHECK(sb_http_add_connection(sv[1]) == 0); /* MHD owns sv[1] now */
    fuzz_exchange(sv[0], fz.req, len);
    close(sv[0]);
    if (getenv("SB_FUZZ_HTTP_DUMP")) /* to look at what a seed reaches */
        fwrite(fz.out, 1, fz.out_len, stderr);
    /* The canary comes back only if the request named it (error replies quote the path). */
    FUZZ_CHECK(!fuzz_find((const char *)fz.out, fz.out_len, FUZZ_CANARY) ||
               fuzz_find(fz.req, len, FUZZ_CANARY));
    if (!fuzz_find(fz.req, len, "HEAD"))
        fuzz_check_replies((const char *)fz.out, fz.out_len);
    return 0;
}
