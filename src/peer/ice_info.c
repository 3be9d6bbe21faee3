/* What the Admin API (handle_info) and event handlers (selected pair) show of an ICE agent
 * (see ice.h): candidates, the selected pair, the state. Loop thread of the agent. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "peer/ice_internal.h"

static json_t *sb_ice_candidates_json(sb_ice_t *ice, GSList *list)
{
    json_t *a = json_array();
    for (GSList *l = list; l; l = l->next) {
        gchar *line = nice_agent_generate_local_candidate_sdp(ice->agent, l->data);
        /* "a=candidate:<value>": the value, as the reference lists them */
        if (line)
            json_array_append_new(a, json_string(g_str_has_prefix(line, "a=candidate:")
                                                     ? line + strlen("a=candidate:")
                                                     : line));
        g_free(line);
    }
    g_slist_free_full(list, (GDestroyNotify)nice_candidate_free);
    return a;
}

static const char *sb_ice_type_name(const NiceCandidate *c)
{
    static const char *const types[] = {"host", "srflx", "prflx", "relay"};
    return c->type < 4 ? types[c->type] : "?";
}

static const char *sb_ice_transport_name(const NiceCandidate *c)
{
    return c->transport == NICE_CANDIDATE_TRANSPORT_UDP ? "udp" : "tcp";
}

static void sb_ice_pair_end(char *out, size_t len, const NiceCandidate *c)
{
    char ip[NICE_ADDRESS_STRING_LEN];
    nice_address_to_string(&c->addr, ip);
    snprintf(out, len, "%s:%u [%s,%s]", ip, nice_address_get_port(&c->addr),
             sb_ice_type_name(c), sb_ice_transport_name(c));
}

json_t *sb_ice_info(sb_ice_t *ice)
{
    const char *state = ice->failed      ? "failed"
                        : ice->restarting ? "restarting"
                        : ice->connected  ? "connected"
                        : ice->gathering  ? "gathering"
                                          : "connecting";
    json_t *o = json_pack("{s:s, s:b}", "state", state, "remote-gathering-done",
                          ice->remote_done);
    json_object_set_new(o, "local-candidates",
                        sb_ice_candidates_json(ice, nice_agent_get_local_candidates(
                                                        ice->agent, ice->stream, SB_ICE_COMPONENT)));
    json_object_set_new(o, "remote-candidates",
                        sb_ice_candidates_json(ice, nice_agent_get_remote_candidates(
                                                        ice->agent, ice->stream, SB_ICE_COMPONENT)));
    char pair[200];
    if (sb_ice_selected_pair_text(ice, pair, sizeof(pair)))
        json_object_set_new(o, "selected-pair", json_string(pair));
    sb_ice_fast_stats_t f;
    sb_ice_fast_stats(ice, &f);
    json_object_set_new(
        o, "direct-read",
        json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "reading", f.reading,
                  "reads", (json_int_t)f.reads, "datagrams", (json_int_t)f.datagrams,
                  "checks-answered", (json_int_t)f.checks_answered, "consent-sent",
                  (json_int_t)f.consent_sent, "consent-answered", (json_int_t)f.consent_answered,
                  "libnice-answers", (json_int_t)f.libnice_answers, "foreign-dropped",
                  (json_int_t)f.foreign_dropped, "stun-dropped", (json_int_t)f.stun_dropped,
                  "truncated", (json_int_t)f.truncated));
    return o;
}

static json_t *sb_ice_candidate_json(const NiceCandidate *c)
{
    char ip[NICE_ADDRESS_STRING_LEN];
    nice_address_to_string(&c->addr, ip);
    return json_pack("{s:s, s:i, s:s, s:s, s:i}", "address", ip, "port",
                     (int)nice_address_get_port(&c->addr), "type", sb_ice_type_name(c),
                     "transport", sb_ice_transport_name(c), "family",
                     nice_address_ip_version(&c->addr));
}

json_t *sb_ice_selected_candidates(sb_ice_t *ice)
{
    NiceCandidate *local = NULL, *remote = NULL;
    if (!nice_agent_get_selected_pair(ice->agent, ice->stream, SB_ICE_COMPONENT, &local,
                                      &remote))
        return NULL;
    return json_pack("{s:{s:o, s:o}}", "candidates", "local", sb_ice_candidate_json(local),
                     "remote", sb_ice_candidate_json(remote));
}

bool sb_ice_selected_pair_text(sb_ice_t *ice, char *out, size_t len)
{
    NiceCandidate *local = NULL, *remote = NULL;
    if (!nice_agent_get_selected_pair(ice->agent, ice->stream, SB_ICE_COMPONENT, &local,
                                      &remote))
        return false;
    char l[96], r[96];
    sb_ice_pair_end(l, sizeof(l), local);
    sb_ice_pair_end(r, sizeof(r), remote);
    snprintf(out, len, "%s <-> %s", l, r);
    return true;
}
