/* Fuzz target: the TextRoom's request handling (plugins/textroom: requests.c, chat.c,
 * admin.c, room.c, session.c, outbox.c) as data channel messages and API message bodies
 * reach it, with four participants' sessions that have no handle (nothing is delivered:
 * the outboxes are checked, then dropped).
 *
 * Input: byte 0 picks the plugin's settings (bit 0 string room ids; bits 1-2 the JSON style;
 * bit 3 an admin_key "k"; bit 4 small bounds: 8 rooms, 3 participants a room, 2 rooms a
 * session, history 3, texts of 64 bytes, 1 KiB of history in all; bit 5 post_allowed
 * "http://h/ok/"). The rest is lines: "0".."3" then a data channel
 * message of that session; "b" then a binary message of session 0; "D" then an API body;
 * "H" then a digit: that session's PeerConnection goes (it leaves every room); anything
 * else is a data channel message of session 0, whole. Rooms 1234 (secret "adminpwd",
 * history 2) and 4321 (pin "p", allowed token "t") exist at the start of every input.
 * Invariants (abort = finding): every text an outbox holds is a JSON object of its stated
 * length; a data channel request always gets a reply unless it asked for none ("ack":
 * false); an API request always gets an object; a whisper reaches each session at most
 * once; after each line the rooms, their participants (array and name index) and the
 * sessions' room lists agree, every room's history bytes add up (to the plugin's total,
 * within max_history_bytes, the heap's top the largest), no request-made room has a "post"
 * outside post_allowed, and no bound is passed. Each input starts from nothing and frees
 * everything (leaks are findings; the history total is back to 0).
 * libFuzzer: see plugins/textroom/module.am (ENABLE_FUZZERS); replayed over
 * tests/fuzz/corpus/textroom by make check. Thread: libFuzzer's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../plugins/textroom/textroom.h"
#include "switchboard/alloc.h"
#include "base/log.h"

#define FUZZ_SESSIONS 4
#define FUZZ_MAX_INPUT (256 * 1024)

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz invariant broken at %s:%d: %s\n", __FILE__, __LINE__, #cond);    \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* textroom.c defines it in the plugin; requests never call the core. */
const sb_core_api_t *sb_tr_core = NULL;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sb_tr_session_t *fuzz_sessions[FUZZ_SESSIONS];

static void fuzz_settings(uint8_t flags)
{
    sb_tr_conf_deinit();
    sb_tr_conf_defaults();
    sb_tr_config.string_ids = flags & 1;
    sb_tr_config.json = (sb_tr_json_style_t)(((flags >> 1) & 3) % 3);
    if (flags & 8)
        sb_tr_config.admin_key = sb_strdup("k");
    if (flags & 16) {
        sb_tr_config.max_rooms = 8;
        sb_tr_config.max_participants = 3;
        sb_tr_config.max_rooms_per_user = 2;
        sb_tr_config.max_history = 3;
        sb_tr_config.max_text = 64;
        sb_tr_config.max_history_bytes = 1024;
    }
    if (flags & 32) {
        sb_tr_config.post_allowed = sb_calloc(2, sizeof(char *));
        sb_tr_config.post_allowed[0] = sb_strdup("http://h/ok/");
    }
}

static void fuzz_room(const char *body)
{
    json_t *b = json_loads(body, 0, NULL);
    if (sb_tr_config.string_ids)
        json_object_set_new(b, "room", json_string(json_string_value(json_object_get(b, "id"))));
    else
        json_object_set_new(b, "room",
                            json_integer(atoi(json_string_value(json_object_get(b, "id")))));
    json_object_del(b, "id");
    sb_tr_room_t *r;
    json_t *e = sb_tr_room_create(b, true, &r);
    FUZZ_CHECK(e == NULL);
    json_decref(b);
}

/* Every text of ob is a JSON object of its length, for one of our sessions. Returns
 * whether one was for s. */
static bool fuzz_check_outbox(sb_tr_outbox_t *ob, sb_tr_session_t *s)
{
    bool for_s = false;
    for (guint i = 0; i < ob->items->len; i++) {
        sb_tr_outbox_item_t *it = &g_array_index(ob->items, sb_tr_outbox_item_t, i);
        FUZZ_CHECK(strlen(it->text->data) == it->text->len);
        json_t *o = json_loadb(it->text->data, it->text->len, 0, NULL);
        FUZZ_CHECK(json_is_object(o));
        json_decref(o);
        bool ours = false;
        for (int k = 0; k < FUZZ_SESSIONS; k++)
            ours = ours || it->s == fuzz_sessions[k];
        FUZZ_CHECK(ours);
        for_s = for_s || it->s == s;
    }
    return for_s;
}

/* Rooms, participants and sessions agree; history bytes add up; no bound is passed. */
static void fuzz_check_state(void)
{
    GPtrArray *rooms = sb_tr_rooms_all();
    FUZZ_CHECK(rooms->len <= sb_tr_config.max_rooms);
    size_t total = 0, largest = 0;
    for (guint i = 0; i < rooms->len; i++) {
        sb_tr_room_t *r = g_ptr_array_index(rooms, i);
        FUZZ_CHECK(sb_tr_room_find(r->key) == r);
        size_t bytes = 0;
        for (GList *l = r->past.head; l; l = l->next)
            bytes += SB_TR_PAST_COST((sb_tr_text_t *)l->data);
        FUZZ_CHECK(bytes == r->past_bytes);
        total += bytes;
        largest = MAX(largest, bytes);
        /* The seed rooms have none; any other came from a request. */
        if (r->o.post) {
            const char *allowed = sb_tr_config.post_allowed ? sb_tr_config.post_allowed[0] : NULL;
            FUZZ_CHECK(allowed && g_str_has_prefix(r->o.post, allowed));
            char *path = g_strndup(r->o.post, strcspn(r->o.post, "?#"));
            FUZZ_CHECK(!strstr(path, "/../") && !strstr(path, "/./") &&
                       !g_str_has_suffix(path, "/..") && !g_str_has_suffix(path, "/."));
            g_free(path);
        }
        FUZZ_CHECK(r->participants->len == g_hash_table_size(r->by_name));
        FUZZ_CHECK(r->participants->len <= sb_tr_config.max_participants);
        FUZZ_CHECK(g_queue_get_length(&r->past) <= r->o.history);
        FUZZ_CHECK(r->allowed->len <= SB_TR_MAX_ALLOWED);
        for (guint j = 0; j < r->participants->len; j++) {
            sb_tr_participant_t *p = g_ptr_array_index(r->participants, j);
            FUZZ_CHECK(p->room == r);
            FUZZ_CHECK(g_hash_table_lookup(r->by_name, p->username) == p);
            FUZZ_CHECK(sb_tr_session_in(p->session, r) == p);
        }
    }
    g_ptr_array_unref(rooms);
    size_t bytes;
    unsigned long long evicted;
    sb_tr_history_stats(&bytes, &evicted);
    FUZZ_CHECK(bytes == total);
    FUZZ_CHECK(bytes <= sb_tr_config.max_history_bytes);
    sb_tr_room_t *top = sb_tr_history_largest();
    FUZZ_CHECK(top ? top->past_bytes == largest && largest > 0 : total == 0);
    for (int k = 0; k < FUZZ_SESSIONS; k++) {
        sb_tr_session_t *s = fuzz_sessions[k];
        FUZZ_CHECK(s->rooms->len <= sb_tr_config.max_rooms_per_user);
        for (guint j = 0; j < s->rooms->len; j++) {
            sb_tr_participant_t *p = g_ptr_array_index(s->rooms, j);
            FUZZ_CHECK(p->session == s);
            FUZZ_CHECK(sb_tr_room_find(p->room->key) == p->room);
        }
    }
}

/* A data channel message: a reply unless it asked for none. */
static void fuzz_data(sb_tr_session_t *s, const char *text, size_t len, bool binary)
{
    sb_tr_outbox_t ob;
    sb_tr_outbox_init(&ob);
    if (binary) {
        json_t *error;
        json_t *root = sb_tr_data_parse(text, len, true, &error);
        FUZZ_CHECK(!root && error);
        sb_tr_data_run(s, root, error, &ob);
    } else {
        sb_tr_data_request(s, text, len, &ob);
    }
    json_t *o = json_loadb(text, len, 0, NULL);
    if (!fuzz_check_outbox(&ob, s))
        FUZZ_CHECK(!binary && json_is_false(json_object_get(o, "ack")));
    /* A message (whispered to a "tos" that may repeat names) reaches a session once. */
    if (!binary && !g_strcmp0(json_string_value(json_object_get(o, "textroom")), "message")) {
        for (guint i = 0; i < ob.items->len; i++) {
            for (guint j = i + 1; j < ob.items->len; j++) {
                sb_tr_outbox_item_t *a = &g_array_index(ob.items, sb_tr_outbox_item_t, i);
                sb_tr_outbox_item_t *b = &g_array_index(ob.items, sb_tr_outbox_item_t, j);
                FUZZ_CHECK(a->s != b->s || a->text != b->text);
            }
        }
    }
    json_decref(o);
    sb_tr_outbox_deinit(&ob);
}

static void fuzz_api(const char *text, size_t len)
{
    json_t *body = json_loadb(text, len, 0, NULL);
    if (!json_is_object(body)) { /* the core answers those itself */
        json_decref(body);
        return;
    }
    sb_tr_outbox_t ob;
    sb_tr_outbox_init(&ob);
    const char *name = json_string_value(json_object_get(body, "request"));
    if (!sb_tr_is_negotiation(name)) { /* those go to textroom.c's thread */
        json_t *reply = sb_tr_api_request(body, &ob);
        FUZZ_CHECK(json_is_object(reply));
        json_decref(reply);
        fuzz_check_outbox(&ob, NULL);
    }
    sb_tr_outbox_deinit(&ob);
    json_decref(body);
}

static void fuzz_line(const char *line, size_t len)
{
    sb_tr_outbox_t ob;
    if (len >= 1 && line[0] >= '0' && line[0] < '0' + FUZZ_SESSIONS) {
        fuzz_data(fuzz_sessions[line[0] - '0'], line + 1, len - 1, false);
    } else if (len >= 1 && line[0] == 'b') {
        fuzz_data(fuzz_sessions[0], line + 1, len - 1, true);
    } else if (len >= 1 && line[0] == 'D') {
        fuzz_api(line + 1, len - 1);
    } else if (len >= 2 && line[0] == 'H' && line[1] >= '0' && line[1] < '0' + FUZZ_SESSIONS) {
        sb_tr_outbox_init(&ob);
        sb_tr_session_leave_all(fuzz_sessions[line[1] - '0'], &ob);
        fuzz_check_outbox(&ob, NULL);
        sb_tr_outbox_deinit(&ob);
    } else {
        fuzz_data(fuzz_sessions[0], line, len, false);
    }
    fuzz_check_state();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool once;
    if (!once) {
        sb_log_set_level(SB_LOG_ERROR);
        once = true;
    }
    if (size < 1 || size > FUZZ_MAX_INPUT)
        return 0;
    fuzz_settings(data[0]);
    sb_tr_rooms_init();
    g_mutex_lock(&sb_tr_lock);
    fuzz_room("{\"id\": \"1234\", \"description\": \"Demo\", \"secret\": \"adminpwd\", "
              "\"history\": 2}");
    fuzz_room("{\"id\": \"4321\", \"pin\": \"p\", \"allowed\": [\"t\"]}");
    for (int k = 0; k < FUZZ_SESSIONS; k++)
        fuzz_sessions[k] = sb_tr_session_new(NULL);
    const char *p = (const char *)data + 1, *end = (const char *)data + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        fuzz_line(p, len);
        p += len + (nl != NULL);
    }
    for (int k = 0; k < FUZZ_SESSIONS; k++) {
        sb_tr_outbox_t ob;
        sb_tr_outbox_init(&ob);
        sb_tr_session_leave_all(fuzz_sessions[k], &ob);
        sb_tr_outbox_deinit(&ob);
        sb_tr_session_unref(fuzz_sessions[k]);
        fuzz_sessions[k] = NULL;
    }
    g_mutex_unlock(&sb_tr_lock);
    sb_tr_rooms_deinit(); /* takes the lock itself */
    size_t bytes;
    unsigned long long evicted;
    sb_tr_history_stats(&bytes, &evicted);
    FUZZ_CHECK(bytes == 0);
    sb_tr_conf_deinit();
    return 0;
}
