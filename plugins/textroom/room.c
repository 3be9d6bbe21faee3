/* TextRoom rooms: the rooms table, room options (one table drives "create", "edit" and the
 * configuration file), a room's history (the last public messages and announcements, sent
 * to newcomers; all rooms' together within a byte budget), and
 * <configs_folder>/janus.plugin.textroom.conf (libconfig syntax): the plugin's settings (group
 * "general") and predefined rooms (groups "room-<id>").
 *
 * Does not run requests (admin.c, chat.c do) nor save rooms: "permanent" is never honoured.
 * Threads: the table and every room are guarded by sb_tr_lock; the configuration is read
 * on the main thread at init, before any request. */
#include <libconfig.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "switchboard/id.h"
#include "switchboard/log.h"
#include "textroom.h"

#define SB_TR_CONF_NAME SB_TR_PACKAGE ".conf"

sb_tr_config_t sb_tr_config;
GMutex sb_tr_lock;

static GHashTable *sb_tr_rooms; /* key -> room (owned); under sb_tr_lock */
/* What /metrics reads without the lock (which the loops take for every message): changed
 * under it, read anywhere. */
static atomic_uint sb_tr_nrooms, sb_tr_nparticipants;

void sb_tr_counts(unsigned *rooms, unsigned *participants)
{
    *rooms = atomic_load(&sb_tr_nrooms);
    *participants = atomic_load(&sb_tr_nparticipants);
}

void sb_tr_count_participants(int delta)
{
    atomic_fetch_add(&sb_tr_nparticipants, (unsigned)delta);
}

/* The history budget (under sb_tr_lock): the rooms that keep any history in a binary
 * max-heap by past_bytes (each room knows its place: past_heap), so the room keeping the
 * most is found at once when the budget is passed; the bytes of all rooms together; the
 * messages evicted for the budget. */
static GPtrArray *sb_tr_past_heap;
static size_t sb_tr_past_total;
static unsigned long long sb_tr_past_evicted;
#define SB_TR_NOT_IN_HEAP G_MAXUINT

/* ---- the table ------------------------------------------------------------------------ */

static void sb_tr_room_free(gpointer ptr)
{
    sb_tr_room_t *r = ptr;
    /* Participants go silently (the room is going): their sessions just forget them. */
    while (r->participants->len > 0)
        sb_tr_room_part(g_ptr_array_index(r->participants, r->participants->len - 1));
    g_ptr_array_unref(r->participants);
    g_hash_table_destroy(r->by_name);
    atomic_fetch_sub(&sb_tr_nrooms, 1);
    r->o.history = 0;
    sb_tr_room_trim(r); /* out of the budget and the heap */
    g_ptr_array_unref(r->allowed);
    sb_tr_room_opts_deinit(&r->o);
    sb_free(r->key);
    sb_free(r);
}

void sb_tr_rooms_init(void)
{
    sb_tr_rooms = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, sb_tr_room_free);
    sb_tr_past_heap = g_ptr_array_new();
    sb_tr_past_total = 0;
    sb_tr_past_evicted = 0;
}

void sb_tr_rooms_deinit(void)
{
    g_mutex_lock(&sb_tr_lock);
    GHashTable *t = sb_tr_rooms;
    sb_tr_rooms = NULL;
    if (t)
        g_hash_table_destroy(t); /* each room leaves the heap */
    if (sb_tr_past_heap) {
        g_ptr_array_unref(sb_tr_past_heap);
        sb_tr_past_heap = NULL;
    }
    if (sb_tr_past_evicted)
        SB_INFO("textroom", "%llu history message(s) evicted for general.max_history_bytes",
                sb_tr_past_evicted);
    g_mutex_unlock(&sb_tr_lock);
}

sb_tr_room_t *sb_tr_room_find(const char *key)
{
    return sb_tr_rooms && key ? g_hash_table_lookup(sb_tr_rooms, key) : NULL;
}

/* A random free id: an integer in 1..2^53-1 (JavaScript-safe), or a UUID with string ids. */
static char *sb_tr_room_new_key(uint64_t *id)
{
    char buf[40];
    do {
        uint8_t b[16];
        sb_random_bytes(b, sizeof(b));
        if (sb_tr_config.string_ids) {
            b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* RFC 4122 version 4 */
            b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
            snprintf(buf, sizeof(buf),
                     "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
                     b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
                     b[13], b[14], b[15]);
            *id = 0;
        } else {
            uint64_t v;
            memcpy(&v, b, sizeof(v));
            v &= SB_ID_MAX;
            if (v == 0)
                continue;
            snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
            *id = v;
        }
    } while (sb_tr_room_find(buf) || !buf[0]);
    return sb_strdup(buf);
}

int sb_tr_room_add(const char *key, sb_tr_room_opts_t *o, GPtrArray *allowed, sb_tr_room_t **out)
{
    if (!sb_tr_rooms)
        return SB_ESTATE;
    if (key && *key && sb_tr_room_find(key))
        return SB_EEXIST;
    if (g_hash_table_size(sb_tr_rooms) >= sb_tr_config.max_rooms)
        return SB_ENOMEM;
    sb_tr_room_t *r = SB_NEW(sb_tr_room_t);
    if (key && *key) {
        r->key = sb_strdup(key);
        r->id = sb_tr_config.string_ids ? 0 : strtoull(key, NULL, 10);
    } else {
        r->key = sb_tr_room_new_key(&r->id);
    }
    r->o = *o;
    memset(o, 0, sizeof(*o));
    if (!r->o.description) {
        char name[64];
        snprintf(name, sizeof(name), "Room %s", r->key);
        r->o.description = sb_strdup(name);
    }
    r->check_allowed = allowed != NULL;
    r->allowed = allowed ? allowed : g_ptr_array_new_with_free_func(sb_free);
    r->participants = g_ptr_array_new();
    r->by_name = g_hash_table_new(g_str_hash, g_str_equal);
    g_queue_init(&r->past);
    r->past_heap = SB_TR_NOT_IN_HEAP;
    g_hash_table_insert(sb_tr_rooms, r->key, r);
    atomic_fetch_add(&sb_tr_nrooms, 1);
    *out = r;
    return 0;
}

void sb_tr_room_destroy(sb_tr_room_t *r)
{
    if (sb_tr_rooms)
        g_hash_table_remove(sb_tr_rooms, r->key); /* frees r */
}

static gint sb_tr_room_cmp(gconstpointer a, gconstpointer b)
{
    const sb_tr_room_t *ra = *(sb_tr_room_t *const *)a, *rb = *(sb_tr_room_t *const *)b;
    if (sb_tr_config.string_ids)
        return strcmp(ra->key, rb->key);
    return ra->id < rb->id ? -1 : ra->id > rb->id;
}

GPtrArray *sb_tr_rooms_all(void)
{
    GPtrArray *a = g_ptr_array_new();
    if (sb_tr_rooms) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, sb_tr_rooms);
        while (g_hash_table_iter_next(&it, &k, &v))
            g_ptr_array_add(a, v);
    }
    g_ptr_array_sort(a, sb_tr_room_cmp);
    return a;
}

json_t *sb_tr_room_id_json(const sb_tr_room_t *r)
{
    return sb_tr_config.string_ids ? json_string(r->key) : json_integer((json_int_t)r->id);
}

void sb_tr_room_opts_deinit(sb_tr_room_opts_t *o)
{
    sb_free(o->description);
    sb_free(o->secret);
    sb_free(o->pin);
    sb_free(o->post);
    memset(o, 0, sizeof(*o));
}

/* ---- history ---------------------------------------------------------------------------- */

static sb_tr_room_t *sb_tr_heap_at(guint i)
{
    return g_ptr_array_index(sb_tr_past_heap, i);
}

static void sb_tr_heap_put(guint i, sb_tr_room_t *r)
{
    sb_tr_past_heap->pdata[i] = r;
    r->past_heap = i;
}

/* The room at i moves up past parents keeping fewer bytes, then down past children
 * keeping more: its place after its past_bytes changed either way. */
static void sb_tr_heap_sift(guint i)
{
    sb_tr_room_t *r = sb_tr_heap_at(i);
    while (i > 0 && sb_tr_heap_at((i - 1) / 2)->past_bytes < r->past_bytes) {
        sb_tr_heap_put(i, sb_tr_heap_at((i - 1) / 2));
        i = (i - 1) / 2;
    }
    for (;;) {
        guint c = 2 * i + 1;
        if (c >= sb_tr_past_heap->len)
            break;
        if (c + 1 < sb_tr_past_heap->len &&
            sb_tr_heap_at(c + 1)->past_bytes > sb_tr_heap_at(c)->past_bytes)
            c++;
        if (sb_tr_heap_at(c)->past_bytes <= r->past_bytes)
            break;
        sb_tr_heap_put(i, sb_tr_heap_at(c));
        i = c;
    }
    sb_tr_heap_put(i, r);
}

/* r's past_bytes changed: it enters, moves in or leaves (nothing kept) the heap. */
static void sb_tr_heap_update(sb_tr_room_t *r)
{
    if (!sb_tr_past_heap)
        return;
    if (r->past_heap == SB_TR_NOT_IN_HEAP) {
        if (r->past_bytes == 0)
            return;
        g_ptr_array_add(sb_tr_past_heap, r);
        r->past_heap = sb_tr_past_heap->len - 1;
        sb_tr_heap_sift(r->past_heap);
    } else if (r->past_bytes > 0) {
        sb_tr_heap_sift(r->past_heap);
    } else {
        guint i = r->past_heap;
        sb_tr_room_t *last = sb_tr_heap_at(sb_tr_past_heap->len - 1);
        g_ptr_array_set_size(sb_tr_past_heap, sb_tr_past_heap->len - 1);
        r->past_heap = SB_TR_NOT_IN_HEAP;
        if (last != r) {
            sb_tr_heap_put(i, last);
            sb_tr_heap_sift(i);
        }
    }
}

/* r's oldest kept message goes (the caller updates the heap). */
static void sb_tr_past_drop(sb_tr_room_t *r)
{
    sb_tr_text_t *t = g_queue_pop_head(&r->past);
    size_t cost = SB_TR_PAST_COST(t);
    r->past_bytes -= cost;
    sb_tr_past_total -= cost;
    sb_tr_text_unref(t);
}

void sb_tr_room_trim(sb_tr_room_t *r)
{
    while (g_queue_get_length(&r->past) > r->o.history)
        sb_tr_past_drop(r);
    sb_tr_heap_update(r);
}

void sb_tr_room_remember(sb_tr_room_t *r, sb_tr_text_t *text)
{
    if (r->o.history == 0)
        return;
    g_queue_push_tail(&r->past, sb_tr_text_ref(text));
    r->past_bytes += SB_TR_PAST_COST(text);
    sb_tr_past_total += SB_TR_PAST_COST(text);
    sb_tr_room_trim(r);
    /* Past the budget: the room keeping the most gives up its oldest, so a room flooding
     * its own history (or many rooms filled once) cannot take the others' away. */
    while (sb_tr_past_total > sb_tr_config.max_history_bytes && sb_tr_past_heap->len > 0) {
        sb_tr_room_t *big = sb_tr_heap_at(0);
        sb_tr_past_drop(big);
        sb_tr_heap_update(big);
        unsigned long long n = ++sb_tr_past_evicted;
        if (n == 1 || n % 10000 == 0)
            SB_WARN("textroom",
                    "rooms' history reached general.max_history_bytes (%u): %llu message(s) "
                    "evicted so far",
                    sb_tr_config.max_history_bytes, n);
    }
}

void sb_tr_history_stats(size_t *bytes, unsigned long long *evicted)
{
    *bytes = sb_tr_past_total;
    *evicted = sb_tr_past_evicted;
}

sb_tr_room_t *sb_tr_history_largest(void)
{
    return sb_tr_past_heap && sb_tr_past_heap->len ? sb_tr_heap_at(0) : NULL;
}

/* ---- the configuration file ------------------------------------------------------------ */

static void sb_tr_conf_free_post_allowed(void)
{
    for (char **p = sb_tr_config.post_allowed; p && *p; p++)
        sb_free(*p);
    sb_free(sb_tr_config.post_allowed);
    sb_tr_config.post_allowed = NULL;
}

void sb_tr_conf_defaults(void)
{
    sb_free(sb_tr_config.admin_key);
    sb_tr_conf_free_post_allowed();
    memset(&sb_tr_config, 0, sizeof(sb_tr_config));
    sb_tr_config.json = SB_TR_JSON_INDENTED;
    sb_tr_config.max_rooms = 10000;
    sb_tr_config.max_participants = 1000;
    sb_tr_config.max_rooms_per_user = 64;
    sb_tr_config.max_text = 65536;
    sb_tr_config.max_history = 100;
    sb_tr_config.max_history_bytes = 16 * 1024 * 1024;
    sb_tr_config.post_queue = 1000;
}

void sb_tr_conf_deinit(void)
{
    sb_free(sb_tr_config.admin_key);
    sb_tr_config.admin_key = NULL;
    sb_tr_conf_free_post_allowed();
}

/* The bounded integers of the general group: name, field, smallest, largest. */
static const struct {
    const char *name;
    size_t off;
    unsigned min, max;
} sb_tr_conf_ints[] = {
    {"max_rooms", offsetof(sb_tr_config_t, max_rooms), 1, 1000000},
    {"max_participants", offsetof(sb_tr_config_t, max_participants), 1, 100000},
    {"max_rooms_per_user", offsetof(sb_tr_config_t, max_rooms_per_user), 1, 10000},
    /* An event carries the text escaped (up to 6 bytes a byte for control characters)
     * and must fit one SCTP message: longer texts are refused per message anyway. */
    {"max_text", offsetof(sb_tr_config_t, max_text), 1, SB_TR_MAX_EVENT - 1024},
    {"max_history", offsetof(sb_tr_config_t, max_history), 0, 10000},
    {"max_history_bytes", offsetof(sb_tr_config_t, max_history_bytes), 0, 1024 * 1024 * 1024},
    {"post_queue", offsetof(sb_tr_config_t, post_queue), 0, 1000000},
};

static int sb_tr_conf_general_int(const char *path, config_setting_t *c, const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(sb_tr_conf_ints); i++) {
        if (strcmp(name, sb_tr_conf_ints[i].name) != 0)
            continue;
        long long v = config_setting_get_int64(c);
        if (v < sb_tr_conf_ints[i].min || v > sb_tr_conf_ints[i].max) {
            SB_ERROR("textroom", "%s:%d: general.%s must be %u..%u", path,
                     config_setting_source_line(c), name, sb_tr_conf_ints[i].min,
                     sb_tr_conf_ints[i].max);
            return SB_EINVAL;
        }
        *(unsigned *)((char *)&sb_tr_config + sb_tr_conf_ints[i].off) = (unsigned)v;
        return 0;
    }
    return SB_ENOENT;
}

/* A prefix of general.post_allowed: "http://" or "https://", an authority (no "/", "?",
 * "#", "\", space or control character), then "/" and any path: what a URL adds after it
 * can never change the host or port the URL names. */
static bool sb_tr_conf_post_prefix_ok(const char *p)
{
    size_t scheme = !g_ascii_strncasecmp(p, "http://", 7)    ? 7
                    : !g_ascii_strncasecmp(p, "https://", 8) ? 8
                                                             : 0;
    if (!scheme || strlen(p) > SB_TR_MAX_STRING)
        return false;
    const char *a = p + scheme;
    size_t n = strcspn(a, "/?#\\");
    if (n == 0 || a[n] != '/')
        return false;
    for (const char *c = p; *c; c++) {
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '\\')
            return false;
    }
    return true;
}

static int sb_tr_conf_post_allowed(const char *path, config_setting_t *c)
{
    int n = config_setting_length(c);
    char **list = sb_calloc((size_t)n + 1, sizeof(char *));
    for (int i = 0; i < n; i++) {
        const char *v = config_setting_get_string_elem(c, i);
        if (!v || !sb_tr_conf_post_prefix_ok(v)) {
            SB_ERROR("textroom",
                     "%s:%d: general.post_allowed[%d] must be a URL prefix "
                     "\"http[s]://host[:port]/[path]\" (the \"/\" after the host included)",
                     path, config_setting_source_line(c), i);
            for (int k = 0; k < i; k++)
                sb_free(list[k]);
            sb_free(list);
            return SB_EINVAL;
        }
        list[i] = sb_strdup(v);
    }
    sb_tr_conf_free_post_allowed();
    sb_tr_config.post_allowed = list;
    return 0;
}

static int sb_tr_conf_general(const char *path, config_setting_t *g)
{
    for (int i = 0; i < config_setting_length(g); i++) {
        config_setting_t *c = config_setting_get_elem(g, (unsigned)i);
        const char *name = config_setting_name(c);
        int type = config_setting_type(c);
        int rc = SB_ENOENT;
        if (!strcmp(name, "admin_key") && type == CONFIG_TYPE_STRING) {
            sb_free(sb_tr_config.admin_key);
            sb_tr_config.admin_key = sb_strdup(config_setting_get_string(c));
            rc = 0;
        } else if (!strcmp(name, "string_ids") && type == CONFIG_TYPE_BOOL) {
            sb_tr_config.string_ids = config_setting_get_bool(c);
            rc = 0;
        } else if (!strcmp(name, "post_allowed") &&
                   (type == CONFIG_TYPE_ARRAY || type == CONFIG_TYPE_LIST)) {
            rc = sb_tr_conf_post_allowed(path, c);
            if (rc < 0)
                return rc;
        } else if (!strcmp(name, "events") && type == CONFIG_TYPE_BOOL) {
            rc = 0; /* the reference's event handlers: we have none to notify */
        } else if (!strcmp(name, "json") && type == CONFIG_TYPE_STRING) {
            const char *v = config_setting_get_string(c);
            rc = 0;
            if (!strcmp(v, "indented"))
                sb_tr_config.json = SB_TR_JSON_INDENTED;
            else if (!strcmp(v, "plain"))
                sb_tr_config.json = SB_TR_JSON_PLAIN;
            else if (!strcmp(v, "compact"))
                sb_tr_config.json = SB_TR_JSON_COMPACT;
            else {
                SB_ERROR("textroom",
                         "%s:%d: general.json must be \"indented\", \"plain\" or \"compact\"", path,
                         config_setting_source_line(c));
                return SB_EINVAL;
            }
        } else if (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64) {
            rc = sb_tr_conf_general_int(path, c, name);
            if (rc == SB_EINVAL)
                return rc;
        }
        if (rc < 0) {
            SB_ERROR("textroom", "%s:%d: unknown or mistyped setting general.%s", path,
                     config_setting_source_line(c), name);
            return SB_EINVAL;
        }
    }
    return 0;
}

/* A libconfig value as JSON (a group as an object, lists and arrays as arrays). */
static json_t *sb_tr_conf_value(const config_setting_t *s)
{
    switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
        return json_integer(config_setting_get_int64(s));
    case CONFIG_TYPE_FLOAT:
        return json_real(config_setting_get_float(s));
    case CONFIG_TYPE_STRING:
        return json_string(config_setting_get_string(s));
    case CONFIG_TYPE_BOOL:
        return json_boolean(config_setting_get_bool(s));
    case CONFIG_TYPE_ARRAY:
    case CONFIG_TYPE_LIST: {
        json_t *a = json_array();
        for (int i = 0; i < config_setting_length(s); i++)
            json_array_append_new(a, sb_tr_conf_value(config_setting_get_elem(s, (unsigned)i)));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (int i = 0; i < config_setting_length(s); i++) {
            config_setting_t *c = config_setting_get_elem(s, (unsigned)i);
            json_object_set_new(o, config_setting_name(c), sb_tr_conf_value(c));
        }
        return o;
    }
    }
}

/* The settings a room group may carry: those of "create", nothing else. */
static const char *const sb_tr_conf_room_keys[] = {"room", "description", "is_private", "secret",
                                                   "pin",  "history",     "post",       "allowed"};

/* One "room-<id>" group: the same checks as a "create" request (requests.c), then the
 * room. The group's name gives the id unless the group has a "room" of its own. */
static int sb_tr_conf_room(const char *path, config_setting_t *g)
{
    json_t *obj = sb_tr_conf_value(g);
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        bool known = false;
        for (size_t i = 0; i < G_N_ELEMENTS(sb_tr_conf_room_keys); i++)
            known = known || !strcmp(key, sb_tr_conf_room_keys[i]);
        if (!known) {
            SB_ERROR("textroom", "%s:%d: unknown setting '%s' in %s", path,
                     config_setting_source_line(g), key, config_setting_name(g));
            json_decref(obj);
            return SB_EINVAL;
        }
    }
    const char *id = config_setting_name(g) + strlen("room-");
    if (!json_object_get(obj, "room")) {
        if (sb_tr_config.string_ids)
            json_object_set_new(obj, "room", json_string(id));
        else if (*id && strspn(id, "0123456789") == strlen(id) && strlen(id) < 17)
            json_object_set_new(obj, "room", json_integer(strtoll(id, NULL, 10)));
    }
    sb_tr_room_t *r = NULL;
    json_t *err = NULL;
    json_t *room = json_object_get(obj, "room");
    if (!room || (json_is_integer(room) && json_integer_value(room) == 0) ||
        (json_is_string(room) && !json_string_length(room)))
        err = sb_tr_error(SB_TR_ERR_INVALID_ELEMENT, "a room group needs an id (room-<id>)");
    else
        err = sb_tr_room_create(obj, true, &r);
    json_decref(obj);
    if (err) {
        SB_ERROR("textroom", "%s:%d: %s: %s", path, config_setting_source_line(g),
                 config_setting_name(g), json_string_value(json_object_get(err, "error")));
        json_decref(err);
        return SB_EINVAL;
    }
    return 0;
}

static int sb_tr_conf_load_file(const char *path)
{
    config_t cfg;
    config_init(&cfg);
    int rc = 0;
    if (config_read_file(&cfg, path) != CONFIG_TRUE) {
        SB_ERROR("textroom", "%s:%d: %s", path, config_error_line(&cfg), config_error_text(&cfg));
        rc = SB_EINVAL;
    }
    config_setting_t *root = config_root_setting(&cfg);
    /* The general group first: string_ids decides how room groups read. */
    config_setting_t *general = rc == 0 ? config_setting_get_member(root, "general") : NULL;
    if (general && config_setting_type(general) == CONFIG_TYPE_GROUP)
        rc = sb_tr_conf_general(path, general);
    for (int i = 0; rc == 0 && i < config_setting_length(root); i++) {
        config_setting_t *g = config_setting_get_elem(root, (unsigned)i);
        const char *name = config_setting_name(g);
        bool group = config_setting_type(g) == CONFIG_TYPE_GROUP;
        if (group && !strcmp(name, "general"))
            continue;
        if (group && !strncmp(name, "room-", 5)) {
            g_mutex_lock(&sb_tr_lock);
            rc = sb_tr_conf_room(path, g);
            g_mutex_unlock(&sb_tr_lock);
        } else {
            SB_ERROR("textroom", "%s:%d: unknown setting '%s' (expected general or room-<id>)",
                     path, config_setting_source_line(g), name);
            rc = SB_EINVAL;
        }
    }
    config_destroy(&cfg);
    if (rc == 0)
        SB_INFO("textroom", "loaded %s", path);
    return rc;
}

int sb_tr_conf_load(const char *config_dir)
{
    sb_tr_conf_defaults();
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", config_dir ? config_dir : SB_CONF_DIR, SB_TR_CONF_NAME);
    if (access(path, R_OK) == 0)
        return sb_tr_conf_load_file(path);
    /* Running from a build tree (the quick start): the default folder is not installed,
     * so use the source tree's conf/, as the VideoRoom does. */
    if (!config_dir || !strcmp(config_dir, SB_CONF_DIR)) {
        snprintf(path, sizeof(path), "%s/conf/%s", SB_SRCDIR, SB_TR_CONF_NAME);
        if (access(path, R_OK) == 0)
            return sb_tr_conf_load_file(path);
    }
    SB_INFO("textroom", "no %s in %s: no predefined rooms", SB_TR_CONF_NAME,
            config_dir ? config_dir : SB_CONF_DIR);
    return 0;
}
