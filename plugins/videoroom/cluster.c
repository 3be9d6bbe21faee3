/* VideoRoom in a cluster (docs/scaling.md): its rooms in the cluster's directory. A room
 * created on any node has a cluster-wide unique id (the directory refuses one that is taken,
 * wherever it is), `exists`, `list` and `listparticipants` answer for every node, and each
 * participant is a member of its room in the directory while it is in. Rooms of the
 * configuration file exist on every node that has the file, and are in the directory too.
 *
 * The requests' hooks here run without the plugin lock, before and after the handler
 * (requests.c), because they wait for Redis (at most 250 ms, never on a media loop; at once
 * an error while Redis is away). Without a cluster every function here does nothing. */
#include <stdio.h>
#include <string.h>

#include "switchboard/alloc.h"
#include "switchboard/error.h"
#include "switchboard/log.h"
#include "videoroom.h"

#define SB_VR_CLUSTER_CREATE_TRIES 8

bool sb_vr_clustered(void)
{
    return SB_CORE_HAS(sb_vr_core, dir_members) && sb_vr_core->cluster_node() >= 0;
}

static void sb_vr_cluster_id(char *buf, size_t len, uint64_t id)
{
    snprintf(buf, len, "%llu", (unsigned long long)id);
}

static json_t *sb_vr_cluster_unavailable(void)
{
    return sb_vr_error_json(SB_VR_ERR_UNKNOWN, "The cluster's directory is unavailable "
                                               "(Redis): try again");
}

/* A room's configuration as the directory keeps it: the create request's fields (what
 * another node needs to make the same room), without the request's own. Owned. */
static json_t *sb_vr_cluster_config(json_t *body, uint64_t id)
{
    json_t *c = json_deep_copy(body);
    json_object_del(c, "request");
    json_object_del(c, "admin_key");
    json_object_del(c, "permanent");
    json_object_set_new(c, "room", json_integer((json_int_t)id));
    return c;
}

json_t *sb_vr_cluster_create_before(sb_vr_sync_req_t *req)
{
    if (!sb_vr_clustered())
        return NULL;
    uint64_t wanted = (uint64_t)json_integer_value(json_object_get(req->body, "room"));
    for (int i = 0; i < SB_VR_CLUSTER_CREATE_TRIES; i++) {
        uint64_t id = wanted ? wanted : sb_vr_random_id();
        char key[24];
        sb_vr_cluster_id(key, sizeof(key), id);
        json_t *config = sb_vr_cluster_config(req->body, id);
        unsigned home = 0;
        int rc = sb_vr_core->dir_room_create(SB_VR_PACKAGE, key, config, &home);
        json_decref(config);
        if (rc == 0) {
            req->copy = json_deep_copy(req->body);
            json_object_set_new(req->copy, "room", json_integer((json_int_t)id));
            req->body = req->copy;
            req->reserved = id;
            return NULL;
        }
        if (rc == SB_EEXIST && wanted)
            return sb_vr_error_json(SB_VR_ERR_ROOM_EXISTS, "Room %llu already exists",
                                    (unsigned long long)wanted);
        if (rc != SB_EEXIST)
            return sb_vr_cluster_unavailable();
    }
    return sb_vr_error_json(SB_VR_ERR_UNKNOWN, "No free room id found");
}

/* The answer's "videoroom" field is `what` (not an error). */
static bool sb_vr_answer_is(json_t *answer, const char *what)
{
    const char *v = json_string_value(json_object_get(answer, "videoroom"));
    return v && !strcmp(v, what);
}

static int sb_vr_answer_error(json_t *answer)
{
    return sb_vr_answer_is(answer, "event")
               ? (int)json_integer_value(json_object_get(answer, "error_code"))
               : 0;
}

void sb_vr_cluster_create_after(sb_vr_sync_req_t *req, json_t **answer)
{
    if (!req->reserved || sb_vr_answer_is(*answer, "created"))
        return;
    /* The handler refused what the directory took (an invalid option): give the id back. */
    char key[24];
    sb_vr_cluster_id(key, sizeof(key), req->reserved);
    sb_vr_core->dir_room_remove(SB_VR_PACKAGE, key);
}

void sb_vr_cluster_destroy_after(sb_vr_sync_req_t *req, json_t **answer)
{
    if (!sb_vr_clustered() || !sb_vr_answer_is(*answer, "destroyed"))
        return;
    char key[24];
    sb_vr_cluster_id(key, sizeof(key),
                     (uint64_t)json_integer_value(json_object_get(*answer, "room")));
    int rc = sb_vr_core->dir_room_remove(SB_VR_PACKAGE, key);
    if (rc < 0 && rc != SB_ENOENT)
        SB_WARN("videoroom",
                "room %s destroyed here but still in the cluster's directory "
                "(%s)",
                key, sb_strerror(rc));
}

void sb_vr_cluster_exists_after(sb_vr_sync_req_t *req, json_t **answer)
{
    if (!sb_vr_clustered() || json_is_true(json_object_get(*answer, "exists")))
        return;
    char key[24];
    sb_vr_cluster_id(key, sizeof(key),
                     (uint64_t)json_integer_value(json_object_get(req->body, "room")));
    int rc = sb_vr_core->dir_room_get(SB_VR_PACKAGE, key, false, NULL, NULL);
    if (rc == 0) {
        json_object_set_new(*answer, "exists", json_true());
    } else if (rc != SB_ENOENT) {
        json_decref(*answer);
        *answer = sb_vr_cluster_unavailable();
    }
}

/* A room of another node, from its configuration in the directory, as "list" shows it. NULL
 * when private and not asked by an admin, or when the configuration is not valid here. */
static json_t *sb_vr_cluster_room_json(json_t *entry, bool admin)
{
    json_t *config = json_object_get(entry, "config");
    uint64_t id = (uint64_t)json_integer_value(json_object_get(config, "room"));
    if (!json_is_object(config) || !id)
        return NULL;
    json_t *opts = json_deep_copy(config);
    json_object_del(opts, "room");
    json_object_del(opts, "allowed");
    sb_vr_room_opts_t o;
    sb_vr_room_opts_defaults(&o);
    char err[256];
    json_t *j = NULL;
    if (!sb_vr_room_opts_apply(&o, opts, "", false, err, sizeof(err)) && (!o.is_private || admin)) {
        o.room = id;
        if (!o.description) {
            char name[48];
            snprintf(name, sizeof(name), "Room %llu", (unsigned long long)id);
            o.description = sb_strdup(name);
        }
        j = sb_vr_room_opts_json(&o,
                                 (unsigned)json_integer_value(json_object_get(entry, "members")));
    }
    sb_vr_room_opts_deinit(&o);
    json_decref(opts);
    return j;
}

void sb_vr_cluster_list_after(sb_vr_sync_req_t *req, json_t **answer)
{
    json_t *list = json_object_get(*answer, "list");
    if (!sb_vr_clustered() || !json_is_array(list))
        return;
    json_t *rooms = sb_vr_core->dir_rooms(SB_VR_PACKAGE);
    if (!rooms) {
        json_decref(*answer);
        *answer = sb_vr_cluster_unavailable();
        return;
    }
    GHashTable *local = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        gint64 room = json_integer_value(json_object_get(v, "room"));
        g_hash_table_add(local, g_memdup2(&room, sizeof(room)));
    }
    json_t *key = json_object_get(req->body, "admin_key");
    bool admin = sb_vr_config.admin_key && json_is_string(key) &&
                 !strcmp(json_string_value(key), sb_vr_config.admin_key);
    const char *id;
    json_object_foreach(rooms, id, v) {
        gint64 room = (gint64)strtoull(id, NULL, 10);
        if (g_hash_table_contains(local, &room))
            continue;
        json_t *j = sb_vr_cluster_room_json(v, admin);
        if (j)
            json_array_append_new(list, j);
    }
    g_hash_table_destroy(local);
    json_decref(rooms);
}

void sb_vr_cluster_participants_after(sb_vr_sync_req_t *req, json_t **answer)
{
    if (!sb_vr_clustered())
        return;
    uint64_t id = (uint64_t)json_integer_value(json_object_get(req->body, "room"));
    char key[24];
    sb_vr_cluster_id(key, sizeof(key), id);
    if (sb_vr_answer_error(*answer) == SB_VR_ERR_NO_SUCH_ROOM) {
        /* Not here: a room of other nodes only. */
        int rc = sb_vr_core->dir_room_get(SB_VR_PACKAGE, key, false, NULL, NULL);
        if (rc == SB_ENOENT)
            return;
        json_decref(*answer);
        *answer = rc < 0 ? sb_vr_cluster_unavailable()
                         : json_pack("{s:s, s:I, s:[]}", "videoroom", "participants", "room",
                                     (json_int_t)id, "participants");
    }
    json_t *list = json_object_get(*answer, "participants");
    if (!json_is_array(list))
        return;
    json_t *members = sb_vr_core->dir_members(SB_VR_PACKAGE, key);
    if (!members) {
        json_decref(*answer);
        *answer = sb_vr_cluster_unavailable();
        return;
    }
    int me = sb_vr_core->cluster_node();
    GHashTable *listed = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
        gint64 pid = json_integer_value(json_object_get(v, "id"));
        g_hash_table_add(listed, g_memdup2(&pid, sizeof(pid)));
    }
    const char *mid;
    json_t *info;
    json_object_foreach(members, mid, info) {
        gint64 pid = (gint64)strtoull(mid, NULL, 10);
        /* This node's, and other nodes' shown here, are in the list already, live. */
        if (json_integer_value(json_object_get(info, "node")) == me ||
            g_hash_table_contains(listed, &pid))
            continue;
        json_t *j = json_pack("{s:I, s:b}", "id", (json_int_t)strtoull(mid, NULL, 10), "publisher",
                              json_is_true(json_object_get(info, "publisher")));
        json_t *display = json_object_get(info, "display");
        if (json_is_string(display))
            json_object_set(j, "display", display);
        json_array_append_new(list, j);
    }
    g_hash_table_destroy(listed);
    json_decref(members);
}

/* ---- members ---- */

void sb_vr_cluster_member_update(const sb_vr_publisher_t *p)
{
    if (!sb_vr_clustered() || sb_vr_pub_remote(p)) /* its own node says it */
        return;
    char room[24], member[24];
    sb_vr_cluster_id(room, sizeof(room), p->room->o.room);
    sb_vr_cluster_id(member, sizeof(member), p->id);
    json_t *info = json_pack("{s:b}", "publisher", sb_vr_pub_live(p));
    if (p->display)
        json_object_set_new(info, "display", json_string(p->display));
    sb_vr_core->dir_member_set(SB_VR_PACKAGE, room, member, info);
    json_decref(info);
}

void sb_vr_cluster_member_gone(const sb_vr_publisher_t *p)
{
    if (!sb_vr_clustered() || sb_vr_pub_remote(p))
        return;
    char room[24], member[24];
    sb_vr_cluster_id(room, sizeof(room), p->room->o.room);
    sb_vr_cluster_id(member, sizeof(member), p->id);
    sb_vr_core->dir_member_remove(SB_VR_PACKAGE, room, member);
}

void sb_vr_cluster_static_room(json_t *config)
{
    if (!sb_vr_clustered())
        return;
    char key[24];
    sb_vr_cluster_id(key, sizeof(key),
                     (uint64_t)json_integer_value(json_object_get(config, "room")));
    int rc = sb_vr_core->dir_room_create(SB_VR_PACKAGE, key, config, NULL);
    if (rc < 0 && rc != SB_EEXIST)
        SB_WARN("videoroom",
                "room %s of the configuration is not in the cluster's directory "
                "yet (%s)",
                key, sb_strerror(rc));
}
