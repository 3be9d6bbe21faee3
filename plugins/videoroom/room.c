/* VideoRoom rooms: the rooms table, room options (one table drives "create", "edit", the
 * configuration file and the "list" answer), predefined rooms from
 * <configs_folder>/janus.plugin.videoroom.conf (libconfig syntax), the room's media loop and
 * the loop each new subscriber is put on.
 *
 * Does not handle participants (publisher.c, subscriber.c) nor requests (admin.c).
 * Threads: the table and every room field are guarded by the plugin lock (sb_vr_lock),
 * except room->loop (atomic). Config loading runs on the main thread at init. */
#include <errno.h>
#include <libconfig.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "switchboard/id.h"
#include "switchboard/log.h"
#include "videoroom.h"

#define SB_VR_MAX_ROOMS 100000
#define SB_VR_CONF_NAME SB_VR_PACKAGE ".conf"

static GHashTable *sb_vr_rooms; /* uint64 id -> room (a reference); under sb_vr_lock */

/* ---- options -------------------------------------------------------------------------- */

enum {
    SB_VR_O_STR = 1,
    SB_VR_O_UINT,
    SB_VR_O_BOOL,
    SB_VR_O_ACODEC,
    SB_VR_O_VCODEC,
    SB_VR_O_IGNORED, /* accepted for compatibility, no effect */
};

typedef struct sb_vr_opt {
    const char *name;
    int type;
    size_t off;
    bool editable; /* "new_<name>" in edit */
} sb_vr_opt_t;

#define SB_VR_OFF(f) offsetof(sb_vr_room_opts_t, f)
static const sb_vr_opt_t sb_vr_opts[] = {
    {"description", SB_VR_O_STR, SB_VR_OFF(description), true},
    {"secret", SB_VR_O_STR, SB_VR_OFF(secret), true},
    {"pin", SB_VR_O_STR, SB_VR_OFF(pin), true},
    {"is_private", SB_VR_O_BOOL, SB_VR_OFF(is_private), true},
    {"require_pvtid", SB_VR_O_BOOL, SB_VR_OFF(require_pvtid), true},
    {"publishers", SB_VR_O_UINT, SB_VR_OFF(publishers), true},
    {"bitrate", SB_VR_O_UINT, SB_VR_OFF(bitrate), true},
    {"bitrate_cap", SB_VR_O_BOOL, SB_VR_OFF(bitrate_cap), false},
    {"fir_freq", SB_VR_O_UINT, SB_VR_OFF(fir_freq), true},
    {"audiocodec", SB_VR_O_ACODEC, SB_VR_OFF(audiocodec), false},
    {"videocodec", SB_VR_O_VCODEC, SB_VR_OFF(videocodec), false},
    {"opus_fec", SB_VR_O_BOOL, SB_VR_OFF(opus_fec), false},
    {"opus_dtx", SB_VR_O_BOOL, SB_VR_OFF(opus_dtx), false},
    {"video_svc", SB_VR_O_BOOL, SB_VR_OFF(video_svc), false},
    {"audiolevel_ext", SB_VR_O_BOOL, SB_VR_OFF(audiolevel_ext), false},
    {"audiolevel_event", SB_VR_O_BOOL, SB_VR_OFF(audiolevel_event), false},
    {"audio_active_packets", SB_VR_O_UINT, SB_VR_OFF(audio_active_packets), false},
    {"audio_level_average", SB_VR_O_UINT, SB_VR_OFF(audio_level_average), false},
    {"videoorient_ext", SB_VR_O_BOOL, SB_VR_OFF(videoorient_ext), false},
    {"playoutdelay_ext", SB_VR_O_BOOL, SB_VR_OFF(playoutdelay_ext), false},
    {"transport_wide_cc_ext", SB_VR_O_BOOL, SB_VR_OFF(transport_wide_cc_ext), false},
    {"notify_joining", SB_VR_O_BOOL, SB_VR_OFF(notify_joining), false},
    {"require_e2ee", SB_VR_O_BOOL, SB_VR_OFF(require_e2ee), false},
    {"record", SB_VR_O_BOOL, SB_VR_OFF(record), false},
    {"rec_dir", SB_VR_O_STR, SB_VR_OFF(rec_dir), true},
    {"lock_record", SB_VR_O_BOOL, SB_VR_OFF(lock_record), true},
    {"vp9_profile", SB_VR_O_IGNORED, 0, false},
    {"h264_profile", SB_VR_O_IGNORED, 0, false},
    {"signed_tokens", SB_VR_O_IGNORED, 0, false},
    {"dummy_publisher", SB_VR_O_IGNORED, 0, false},
    {"dummy_streams", SB_VR_O_IGNORED, 0, false},
};
#define SB_VR_NOPTS (sizeof(sb_vr_opts) / sizeof(sb_vr_opts[0]))

static const char *const sb_vr_acodecs[] = {"opus", "multiopus", "isac32", "isac16",
                                            "pcmu", "pcma", "g722", NULL};
static const char *const sb_vr_vcodecs[] = {"vp8", "vp9", "av1", "h264", "h265", NULL};

void sb_vr_room_opts_defaults(sb_vr_room_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->publishers = 3;
    o->audiolevel_ext = true;
    o->videoorient_ext = true;
    o->playoutdelay_ext = true;
    o->transport_wide_cc_ext = true;
    o->opus_fec = true;
    o->audio_active_packets = 100;
    o->audio_level_average = 25;
    o->audiocodec = sb_strdup("opus");
    o->videocodec = sb_strdup("vp8");
}

void sb_vr_room_opts_deinit(sb_vr_room_opts_t *o)
{
    for (size_t i = 0; i < SB_VR_NOPTS; i++) {
        const sb_vr_opt_t *d = &sb_vr_opts[i];
        if (d->type == SB_VR_O_STR || d->type == SB_VR_O_ACODEC || d->type == SB_VR_O_VCODEC) {
            char **f = (char **)((char *)o + d->off);
            sb_free(*f);
            *f = NULL;
        }
    }
}

/* Normalize and check a codec list ("VP8, h264" -> "vp8,h264"). NULL when invalid. */
static char *sb_vr_codec_list(const char *text, const char *const *known)
{
    GString *out = g_string_new(NULL);
    gchar **parts = g_strsplit(text, ",", 0);
    bool ok = parts[0] != NULL;
    for (gchar **p = parts; *p && ok; p++) {
        gchar *name = g_ascii_strdown(g_strstrip(*p), -1);
        ok = false;
        for (const char *const *k = known; *k; k++)
            ok = ok || !strcmp(*k, name);
        if (ok)
            g_string_append_printf(out, "%s%s", out->len ? "," : "", name);
        g_free(name);
    }
    g_strfreev(parts);
    char *res = ok ? sb_strdup(out->str) : NULL;
    g_string_free(out, TRUE);
    return res;
}

static int sb_vr_opt_set(sb_vr_room_opts_t *o, const sb_vr_opt_t *d, const char *key,
                         json_t *v, char *err, size_t err_len)
{
    void *f = (char *)o + d->off;
    switch (d->type) {
    case SB_VR_O_IGNORED:
        return 0;
    case SB_VR_O_BOOL:
        if (!json_is_boolean(v))
            goto bad_type;
        *(bool *)f = json_is_true(v);
        return 0;
    case SB_VR_O_UINT:
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > UINT32_MAX)
            goto bad_type;
        *(unsigned *)f = (unsigned)json_integer_value(v);
        return 0;
    case SB_VR_O_STR:
        if (!json_is_string(v))
            goto bad_type;
        if (json_string_length(v) > SB_VR_MAX_STRING) {
            snprintf(err, err_len, "Invalid element (%s longer than %d bytes)", key,
                     SB_VR_MAX_STRING);
            return SB_VR_ERR_INVALID_ELEMENT;
        }
        sb_free(*(char **)f);
        *(char **)f = sb_strdup(json_string_value(v));
        return 0;
    default: {
        bool audio = d->type == SB_VR_O_ACODEC;
        if (!json_is_string(v))
            goto bad_type;
        char *list = sb_vr_codec_list(json_string_value(v), audio ? sb_vr_acodecs : sb_vr_vcodecs);
        if (!list) {
            snprintf(err, err_len, "Invalid element (%s can only be or contain %s)", key,
                     audio ? "opus, multiopus, isac32, isac16, pcmu, pcma or g722"
                           : "vp8, vp9, av1, h264 or h265");
            return SB_VR_ERR_INVALID_ELEMENT;
        }
        sb_free(*(char **)f);
        *(char **)f = list;
        return 0;
    }
    }
bad_type:
    snprintf(err, err_len, "Invalid element type (%s should be %s)", key,
             d->type == SB_VR_O_BOOL   ? "a boolean"
             : d->type == SB_VR_O_UINT ? "a positive integer"
                                       : "a string");
    return SB_VR_ERR_INVALID_ELEMENT;
}

static const sb_vr_opt_t *sb_vr_opt_find(const char *key, const char *prefix)
{
    size_t plen = strlen(prefix);
    if (strncmp(key, prefix, plen) != 0)
        return NULL;
    for (size_t i = 0; i < SB_VR_NOPTS; i++) {
        if (!strcmp(sb_vr_opts[i].name, key + plen) && (!plen || sb_vr_opts[i].editable))
            return &sb_vr_opts[i];
    }
    return NULL;
}

int sb_vr_room_opts_apply(sb_vr_room_opts_t *o, json_t *obj, const char *prefix,
                          bool strict, char *err, size_t err_len)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        const sb_vr_opt_t *d = sb_vr_opt_find(key, prefix);
        if (!d) {
            if (!strict)
                continue;
            snprintf(err, err_len, "Unknown setting '%s'", key);
            return SB_VR_ERR_INVALID_ELEMENT;
        }
        int code = sb_vr_opt_set(o, d, key, v, err, err_len);
        if (code)
            return code;
    }
    /* The reference keeps caps of at least 64 kbps. */
    if (o->bitrate > 0 && o->bitrate < 64000)
        o->bitrate = 64000;
    if (o->publishers == 0)
        o->publishers = 3;
    if (o->secret && !o->secret[0]) {
        sb_free(o->secret);
        o->secret = NULL;
    }
    if (o->pin && !o->pin[0]) {
        sb_free(o->pin);
        o->pin = NULL;
    }
    return 0;
}

int sb_vr_allowed_parse(json_t *arr, GPtrArray **out, char *err, size_t err_len)
{
    if (!json_is_array(arr)) {
        snprintf(err, err_len, "Invalid element type (allowed should be an array)");
        return SB_VR_ERR_INVALID_ELEMENT;
    }
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v)) {
            snprintf(err, err_len, "Invalid element in the allowed array (not a string)");
            return SB_VR_ERR_INVALID_ELEMENT;
        }
    }
    GPtrArray *a = g_ptr_array_new_with_free_func(sb_free);
    json_array_foreach(arr, i, v) {
        const char *t = json_string_value(v);
        bool dup = false;
        for (guint j = 0; j < a->len && !dup; j++)
            dup = !strcmp(g_ptr_array_index(a, j), t);
        if (!dup)
            g_ptr_array_add(a, sb_strdup(t));
    }
    *out = a;
    return 0;
}

bool sb_vr_room_token_ok(const sb_vr_room_t *r, const char *token)
{
    if (!r->check_allowed)
        return true;
    for (guint i = 0; token && i < r->allowed->len; i++) {
        if (!strcmp(g_ptr_array_index(r->allowed, i), token))
            return true;
    }
    return false;
}

/* ---- the table ------------------------------------------------------------------------ */

uint64_t sb_vr_random_id(void)
{
    uint64_t v = 0;
    while (v == 0) {
        sb_random_bytes(&v, sizeof(v));
        v &= SB_ID_MAX;
    }
    return v;
}

void sb_vr_rooms_init(void)
{
    sb_vr_rooms = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                        (GDestroyNotify)sb_vr_room_unref);
}

void sb_vr_rooms_deinit(void)
{
    g_mutex_lock(&sb_vr_lock);
    GHashTable *t = sb_vr_rooms;
    sb_vr_rooms = NULL;
    g_mutex_unlock(&sb_vr_lock);
    if (t)
        g_hash_table_destroy(t);
}

void sb_vr_room_ref(sb_vr_room_t *r)
{
    sb_refcount_inc(&r->ref);
}

void sb_vr_room_unref(sb_vr_room_t *r)
{
    if (!r || !sb_refcount_dec(&r->ref))
        return;
    sb_vr_room_opts_deinit(&r->o);
    g_ptr_array_unref(r->allowed);
    g_hash_table_destroy(r->participants);
    g_ptr_array_unref(r->subscribers);
    sb_vr_span_free(r);
    sb_free(r);
}

void sb_vr_counts(unsigned *rooms, unsigned *participants)
{
    g_mutex_lock(&sb_vr_lock);
    *rooms = *participants = 0;
    if (sb_vr_rooms) {
        GHashTableIter it;
        gpointer key, value;
        g_hash_table_iter_init(&it, sb_vr_rooms);
        while (g_hash_table_iter_next(&it, &key, &value)) {
            (*rooms)++;
            *participants += g_hash_table_size(((sb_vr_room_t *)value)->participants);
        }
    }
    g_mutex_unlock(&sb_vr_lock);
}

sb_vr_room_t *sb_vr_room_find(uint64_t id)
{
    return sb_vr_rooms ? g_hash_table_lookup(sb_vr_rooms, &id) : NULL;
}

uint64_t sb_vr_room_new_id(void)
{
    uint64_t id;
    do
        id = sb_vr_random_id();
    while (sb_vr_room_find(id));
    return id;
}

int sb_vr_room_add(sb_vr_room_opts_t *o, GPtrArray *allowed, sb_vr_room_t **out)
{
    if (!sb_vr_rooms)
        return SB_ESTATE;
    if (o->room && sb_vr_room_find(o->room))
        return SB_EEXIST;
    if (g_hash_table_size(sb_vr_rooms) >= SB_VR_MAX_ROOMS)
        return SB_ENOMEM;
    sb_vr_room_t *r = SB_NEW(sb_vr_room_t);
    sb_refcount_init(&r->ref);
    r->o = *o;
    memset(o, 0, sizeof(*o));
    if (!r->o.room)
        r->o.room = sb_vr_room_new_id();
    if (!r->o.description) {
        char name[48];
        snprintf(name, sizeof(name), "Room %llu", (unsigned long long)r->o.room);
        r->o.description = sb_strdup(name);
    }
    r->check_allowed = allowed != NULL;
    r->allowed = allowed ? allowed : g_ptr_array_new_with_free_func(sb_free);
    r->participants = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                            (GDestroyNotify)sb_vr_publisher_unref);
    r->subscribers = g_ptr_array_new_with_free_func((GDestroyNotify)sb_vr_subscriber_unref);
    atomic_init(&r->loop, -1);
    g_hash_table_insert(sb_vr_rooms, &r->o.room, r);
    *out = r;
    return 0;
}

void sb_vr_room_remove(sb_vr_room_t *r)
{
    r->destroyed = true;
    if (sb_vr_rooms)
        g_hash_table_remove(sb_vr_rooms, &r->o.room); /* drops the table's reference */
}

static gint sb_vr_room_cmp(gconstpointer a, gconstpointer b)
{
    const sb_vr_room_t *ra = *(sb_vr_room_t *const *)a, *rb = *(sb_vr_room_t *const *)b;
    return ra->o.room < rb->o.room ? -1 : ra->o.room > rb->o.room;
}

GPtrArray *sb_vr_rooms_all(void)
{
    GPtrArray *a = g_ptr_array_new();
    if (sb_vr_rooms) {
        GHashTableIter it;
        gpointer k, v;
        g_hash_table_iter_init(&it, sb_vr_rooms);
        while (g_hash_table_iter_next(&it, &k, &v))
            g_ptr_array_add(a, v);
    }
    g_ptr_array_sort(a, sb_vr_room_cmp);
    return a;
}

int sb_vr_room_loop(sb_vr_room_t *r)
{
    return atomic_load(&r->loop);
}

void sb_vr_room_pin_loop(sb_vr_room_t *r, sb_plugin_handle_t *h)
{
    if (!sb_vr_core->loop_index || atomic_load(&r->loop) >= 0)
        return;
    int idx = sb_vr_core->loop_index(h);
    int expected = -1;
    if (idx >= 0)
        atomic_compare_exchange_strong(&r->loop, &expected, idx);
}

/* Subscribers of a small room share its loop: forwarding stays inline, with no thread hop.
 * Past spread_after subscribers the room has outgrown that: each new one goes to the loop
 * with the fewest PeerConnections (the core's count, every plugin and room included; ties go
 * to the feed's loop, then the lowest index), so the fan-out work spreads evenly and the
 * room's loop keeps room for its publishers' receive path. */
int sb_vr_room_pick_loop(sb_vr_room_t *r, int home)
{
    unsigned n = sb_vr_core->loop_count();
    if (n == 0)
        return -1;
    if (home < 0 || (unsigned)home >= n)
        home = sb_vr_core->loop_pick();
    if (n == 1 || r->subscribers->len < sb_vr_config.spread_after)
        return home;
    int best = home;
    unsigned best_load = sb_vr_core->loop_load(home);
    for (unsigned i = 0; i < n; i++) {
        unsigned load = sb_vr_core->loop_load((int)i);
        if (load < best_load) {
            best = (int)i;
            best_load = load;
        }
    }
    return best;
}

json_t *sb_vr_room_json(const sb_vr_room_t *r)
{
    return sb_vr_room_opts_json(&r->o, g_hash_table_size(r->participants));
}

json_t *sb_vr_room_opts_json(const sb_vr_room_opts_t *o, unsigned participants)
{
    json_t *j = json_pack(
        "{s:I, s:s, s:b, s:b, s:i, s:I, s:b, s:I, s:b, s:b, s:b, s:b, s:s, s:s, s:b, s:b, s:b,"
        " s:b, s:b, s:b, s:b, s:b, s:i}",
        "room", (json_int_t)o->room, "description", o->description, "pin_required",
        o->pin != NULL, "is_private", o->is_private, "max_publishers", (int)o->publishers,
        "bitrate", (json_int_t)o->bitrate, "bitrate_cap", o->bitrate_cap, "fir_freq",
        (json_int_t)o->fir_freq, "require_pvtid", o->require_pvtid, "require_e2ee",
        o->require_e2ee, "dummy_publisher", false, "notify_joining", o->notify_joining,
        "audiocodec", o->audiocodec, "videocodec", o->videocodec, "opus_fec", o->opus_fec,
        "record", false, "lock_record", o->lock_record, "audiolevel_ext", o->audiolevel_ext,
        "audiolevel_event", o->audiolevel_event, "videoorient_ext", o->videoorient_ext,
        "playoutdelay_ext", o->playoutdelay_ext, "transport_wide_cc_ext",
        o->transport_wide_cc_ext, "num_participants", (int)participants);
    if (!o->bitrate_cap)
        json_object_del(j, "bitrate_cap");
    if (o->opus_dtx)
        json_object_set_new(j, "opus_dtx", json_true());
    if (o->video_svc)
        json_object_set_new(j, "video_svc", json_true());
    if (o->audiolevel_event) {
        json_object_set_new(j, "audio_active_packets", json_integer(o->audio_active_packets));
        json_object_set_new(j, "audio_level_average", json_integer(o->audio_level_average));
    }
    return j;
}

/* ---- the configuration file ------------------------------------------------------------ */

static json_t *sb_vr_conf_value(const config_setting_t *s)
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
            json_array_append_new(a, sb_vr_conf_value(config_setting_get_elem(s, i)));
        return a;
    }
    default: { /* a group */
        json_t *o = json_object();
        for (int i = 0; i < config_setting_length(s); i++) {
            config_setting_t *c = config_setting_get_elem(s, i);
            json_object_set_new(o, config_setting_name(c), sb_vr_conf_value(c));
        }
        return o;
    }
    }
}

static int sb_vr_conf_general(const char *path, config_setting_t *g)
{
    for (int i = 0; i < config_setting_length(g); i++) {
        config_setting_t *c = config_setting_get_elem(g, i);
        const char *name = config_setting_name(c);
        if (!strcmp(name, "admin_key") && config_setting_type(c) == CONFIG_TYPE_STRING) {
            sb_free(sb_vr_config.admin_key);
            sb_vr_config.admin_key = sb_strdup(config_setting_get_string(c));
        } else if (!strcmp(name, "lock_rtp_forward") &&
                   config_setting_type(c) == CONFIG_TYPE_BOOL) {
            sb_vr_config.lock_rtp_forward = config_setting_get_bool(c);
        } else if (!strcmp(name, "spread_subscribers_after") &&
                   config_setting_type(c) == CONFIG_TYPE_INT && config_setting_get_int(c) >= 0) {
            sb_vr_config.spread_after = (unsigned)config_setting_get_int(c);
        } else {
            SB_ERROR("videoroom", "%s:%d: unknown or mistyped setting general.%s", path,
                     config_setting_source_line(c), name);
            return SB_EINVAL;
        }
    }
    return 0;
}

/* While SIGHUP reloads the file: rooms that exist are kept as they are (counted). */
static struct {
    bool on;
    unsigned added, kept;
} sb_vr_reload;

/* A room group's id: its "room" setting, else the number in its name ("room-<id>"). */
static int sb_vr_conf_room_id(json_t *obj, const char *name, char *err, size_t err_len)
{
    if (!json_object_get(obj, "room")) {
        char *end = NULL;
        unsigned long long id = strtoull(name + 5, &end, 10);
        if (!end || *end || id == 0 || id > SB_ID_MAX) {
            snprintf(err, err_len, "room group '%s' needs a numeric id", name);
            return SB_VR_ERR_INVALID_ELEMENT;
        }
        json_object_set_new(obj, "room", json_integer((json_int_t)id));
    }
    json_t *room = json_object_get(obj, "room");
    if (!json_is_integer(room) || json_integer_value(room) <= 0) {
        snprintf(err, err_len, "room should be a positive integer");
        return SB_VR_ERR_INVALID_ELEMENT;
    }
    return 0;
}

/* Add the room of a group (o's strings and tokens taken), or, on a reload, keep the one that
 * exists. 0, or an error code with text. */
static int sb_vr_conf_room_add(sb_vr_room_opts_t *o, GPtrArray *tokens, char *err,
                               size_t err_len)
{
    sb_vr_room_t *r;
    g_mutex_lock(&sb_vr_lock);
    bool kept = sb_vr_reload.on && sb_vr_room_find(o->room);
    int rc = kept ? 0 : sb_vr_room_add(o, tokens, &r);
    g_mutex_unlock(&sb_vr_lock);
    if (kept)
        sb_vr_reload.kept++;
    else if (rc == 0)
        sb_vr_reload.added++;
    if ((kept || rc < 0) && tokens)
        g_ptr_array_unref(tokens);
    if (rc < 0) {
        snprintf(err, err_len, "room %llu defined twice", (unsigned long long)o->room);
        return SB_VR_ERR_ROOM_EXISTS;
    }
    return 0;
}

/* One "room-<id>" group: the same options as a "create" request. */
static int sb_vr_conf_room(const char *path, config_setting_t *g)
{
    json_t *obj = sb_vr_conf_value(g);
    char err[256] = "";
    int code = sb_vr_conf_room_id(obj, config_setting_name(g), err, sizeof(err));
    /* Kept past its removal from obj (which held the only other reference). */
    json_t *allowed = json_incref(json_object_get(obj, "allowed"));
    sb_vr_room_opts_t o;
    sb_vr_room_opts_defaults(&o);
    GPtrArray *tokens = NULL;
    if (!code) {
        o.room = (uint64_t)json_integer_value(json_object_get(obj, "room"));
        json_object_del(obj, "room");
        json_object_del(obj, "allowed");
        code = sb_vr_room_opts_apply(&o, obj, "", true, err, sizeof(err));
    }
    if (!code && allowed)
        code = sb_vr_allowed_parse(allowed, &tokens, err, sizeof(err));
    json_t *config = NULL;
    if (!code) { /* the directory's copy: what another node needs to make the same room */
        config = json_deep_copy(obj);
        json_object_set_new(config, "room", json_integer((json_int_t)o.room));
        if (allowed)
            json_object_set(config, "allowed", allowed);
    }
    if (!code) /* tokens is set only when everything before passed */
        code = sb_vr_conf_room_add(&o, tokens, err, sizeof(err));
    if (!code)
        sb_vr_cluster_static_room(config);
    json_decref(config);
    sb_vr_room_opts_deinit(&o);
    json_decref(allowed);
    json_decref(obj);
    if (code) {
        SB_ERROR("videoroom", "%s:%d: %s", path, config_setting_source_line(g), err);
        return SB_EINVAL;
    }
    return 0;
}

static int sb_vr_conf_load_file(const char *path)
{
    config_t cfg;
    config_init(&cfg);
    int rc = 0;
    if (config_read_file(&cfg, path) != CONFIG_TRUE) {
        SB_ERROR("videoroom", "%s:%d: %s", path, config_error_line(&cfg),
                 config_error_text(&cfg));
        rc = SB_EINVAL;
    }
    config_setting_t *root = config_root_setting(&cfg);
    for (int i = 0; rc == 0 && i < config_setting_length(root); i++) {
        config_setting_t *g = config_setting_get_elem(root, i);
        const char *name = config_setting_name(g);
        if (config_setting_type(g) == CONFIG_TYPE_GROUP && !strcmp(name, "general"))
            rc = sb_vr_reload.on ? 0 : sb_vr_conf_general(path, g); /* read at start only */
        else if (config_setting_type(g) == CONFIG_TYPE_GROUP && !strncmp(name, "room-", 5))
            rc = sb_vr_conf_room(path, g);
        else {
            SB_ERROR("videoroom", "%s:%d: unknown setting '%s' (expected general or room-<id>)",
                     path, config_setting_source_line(g), name);
            rc = SB_EINVAL;
        }
    }
    config_destroy(&cfg);
    if (rc == 0)
        SB_INFO("videoroom", "loaded %s", path);
    return rc;
}

int sb_vr_rooms_reload(const char *config_dir)
{
    sb_vr_reload.on = true;
    sb_vr_reload.added = sb_vr_reload.kept = 0;
    int rc = sb_vr_rooms_load_config(config_dir);
    sb_vr_reload.on = false;
    SB_INFO("videoroom", "reload: %u new room(s) created, %u kept as they are (rooms that "
                         "exist change with the edit request, or go with destroy); general "
                         "settings are read at start only",
            sb_vr_reload.added, sb_vr_reload.kept);
    return rc;
}

int sb_vr_rooms_load_config(const char *config_dir)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", config_dir ? config_dir : SB_CONF_DIR,
             SB_VR_CONF_NAME);
    if (access(path, R_OK) == 0)
        return sb_vr_conf_load_file(path);
    /* Running from a build tree (the quick start): the default folder is not installed,
     * so use the source tree's conf/, as the daemon does for its web app. */
    if (!config_dir || !strcmp(config_dir, SB_CONF_DIR)) {
        snprintf(path, sizeof(path), "%s/conf/%s", SB_SRCDIR, SB_VR_CONF_NAME);
        if (access(path, R_OK) == 0)
            return sb_vr_conf_load_file(path);
    }
    SB_INFO("videoroom", "no %s in %s: no predefined rooms", SB_VR_CONF_NAME,
            config_dir ? config_dir : SB_CONF_DIR);
    return 0;
}
