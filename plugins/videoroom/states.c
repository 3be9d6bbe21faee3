/* VideoRoom state machines (states.h): a publisher's lifecycle (joined, negotiated, live,
 * left) and a subscriber's negotiation (the offer/answer exchange of its PeerConnection).
 * Each is the list of its legal transitions, the table states.h documents next to its enum,
 * one transition function that applies an event the list allows and refuses (and logs at
 * debug) any other, and the predicates the rest of the plugin asks of a state.
 *
 * Does not act on a transition: the callers do what a state change means (announce, close a
 * PeerConnection, offer). Threads: any, under the plugin lock. */
#include "switchboard/log.h"
#include "videoroom.h"

/* ---- publishers ------------------------------------------------------------------------ */

static const struct {
    sb_vr_pub_state_t from;
    sb_vr_pub_event_t ev;
    sb_vr_pub_state_t to;
} sb_vr_pub_rules[] = {
    {SB_VR_PUB_JOINED, SB_VR_PUB_EV_ANSWERED, SB_VR_PUB_NEGOTIATED},
    {SB_VR_PUB_JOINED, SB_VR_PUB_EV_LEAVE, SB_VR_PUB_LEFT},
    {SB_VR_PUB_NEGOTIATED, SB_VR_PUB_EV_ANSWERED, SB_VR_PUB_NEGOTIATED},
    {SB_VR_PUB_NEGOTIATED, SB_VR_PUB_EV_MEDIA_UP, SB_VR_PUB_LIVE},
    {SB_VR_PUB_NEGOTIATED, SB_VR_PUB_EV_UNPUBLISH, SB_VR_PUB_JOINED},
    {SB_VR_PUB_LIVE, SB_VR_PUB_EV_ANSWERED, SB_VR_PUB_LIVE},
    {SB_VR_PUB_LIVE, SB_VR_PUB_EV_UNPUBLISH, SB_VR_PUB_JOINED},
};

static const char *const sb_vr_pub_state_names[] = {"joined", "negotiated", "live", "left"};
static const char *const sb_vr_pub_event_names[] = {"answered", "media up", "unpublish",
                                                    "leave"};

bool sb_vr_pub_transition(sb_vr_publisher_t *p, sb_vr_pub_event_t ev)
{
    for (size_t i = 0; i < G_N_ELEMENTS(sb_vr_pub_rules); i++) {
        if (sb_vr_pub_rules[i].from == p->state && sb_vr_pub_rules[i].ev == ev) {
            p->state = sb_vr_pub_rules[i].to;
            return true;
        }
    }
    SB_DEBUG("videoroom", "publisher %llu: %s refused when %s", (unsigned long long)p->id,
             sb_vr_pub_event_names[ev], sb_vr_pub_state_names[p->state]);
    return false;
}

bool sb_vr_pub_in_room(const sb_vr_publisher_t *p)
{
    return p->state != SB_VR_PUB_LEFT;
}

bool sb_vr_pub_negotiated(const sb_vr_publisher_t *p)
{
    return p->state == SB_VR_PUB_NEGOTIATED || p->state == SB_VR_PUB_LIVE;
}

bool sb_vr_pub_live(const sb_vr_publisher_t *p)
{
    return p->state == SB_VR_PUB_LIVE;
}

/* ---- subscribers ----------------------------------------------------------------------- */

static const struct {
    sb_vr_sub_state_t from;
    sb_vr_sub_event_t ev;
    sb_vr_sub_state_t to;
} sb_vr_sub_rules[] = {
    {SB_VR_SUB_JOINED, SB_VR_SUB_EV_OFFER, SB_VR_SUB_OFFERING},
    {SB_VR_SUB_OFFERING, SB_VR_SUB_EV_MADE, SB_VR_SUB_OFFERED},
    {SB_VR_SUB_OFFERING, SB_VR_SUB_EV_FAILED, SB_VR_SUB_JOINED},
    {SB_VR_SUB_OFFERED, SB_VR_SUB_EV_ANSWER, SB_VR_SUB_ACTIVE},
    {SB_VR_SUB_ACTIVE, SB_VR_SUB_EV_OFFER, SB_VR_SUB_RENEGOTIATING},
    {SB_VR_SUB_RENEGOTIATING, SB_VR_SUB_EV_MADE, SB_VR_SUB_REOFFERED},
    {SB_VR_SUB_RENEGOTIATING, SB_VR_SUB_EV_FAILED, SB_VR_SUB_ACTIVE},
    {SB_VR_SUB_REOFFERED, SB_VR_SUB_EV_OFFER, SB_VR_SUB_REOFFERING},
    {SB_VR_SUB_REOFFERED, SB_VR_SUB_EV_ANSWER, SB_VR_SUB_ACTIVE},
    {SB_VR_SUB_REOFFERING, SB_VR_SUB_EV_MADE, SB_VR_SUB_REOFFERED},
    {SB_VR_SUB_REOFFERING, SB_VR_SUB_EV_FAILED, SB_VR_SUB_REOFFERED},
    /* Whatever the negotiation is doing, the subscription may end. */
    {SB_VR_SUB_JOINED, SB_VR_SUB_EV_LEAVE, SB_VR_SUB_LEFT},
    {SB_VR_SUB_OFFERING, SB_VR_SUB_EV_LEAVE, SB_VR_SUB_LEFT},
    {SB_VR_SUB_OFFERED, SB_VR_SUB_EV_LEAVE, SB_VR_SUB_LEFT},
    {SB_VR_SUB_ACTIVE, SB_VR_SUB_EV_LEAVE, SB_VR_SUB_LEFT},
    {SB_VR_SUB_RENEGOTIATING, SB_VR_SUB_EV_LEAVE, SB_VR_SUB_LEFT},
    {SB_VR_SUB_REOFFERED, SB_VR_SUB_EV_LEAVE, SB_VR_SUB_LEFT},
    {SB_VR_SUB_REOFFERING, SB_VR_SUB_EV_LEAVE, SB_VR_SUB_LEFT},
};

static const char *const sb_vr_sub_state_names[] = {
    "joined", "offering", "offered", "active", "renegotiating", "reoffered", "reoffering", "left",
};
static const char *const sb_vr_sub_event_names[] = {"offer", "made", "failed", "answer",
                                                    "leave"};

bool sb_vr_sub_transition(sb_vr_subscriber_t *s, sb_vr_sub_event_t ev)
{
    for (size_t i = 0; i < G_N_ELEMENTS(sb_vr_sub_rules); i++) {
        if (sb_vr_sub_rules[i].from == s->state && sb_vr_sub_rules[i].ev == ev) {
            s->state = sb_vr_sub_rules[i].to;
            return true;
        }
    }
    SB_DEBUG("videoroom", "subscriber %llu: %s refused when %s",
             (unsigned long long)s->h->handle_id, sb_vr_sub_event_names[ev],
             sb_vr_sub_state_names[s->state]);
    return false;
}

bool sb_vr_sub_left(const sb_vr_subscriber_t *s)
{
    return s->state == SB_VR_SUB_LEFT;
}

bool sb_vr_sub_offer_out(const sb_vr_subscriber_t *s)
{
    return s->state == SB_VR_SUB_OFFERED || s->state == SB_VR_SUB_REOFFERED ||
           s->state == SB_VR_SUB_REOFFERING;
}

bool sb_vr_sub_offering(const sb_vr_subscriber_t *s)
{
    return s->state == SB_VR_SUB_OFFERING || s->state == SB_VR_SUB_RENEGOTIATING ||
           s->state == SB_VR_SUB_REOFFERING;
}

bool sb_vr_sub_answered(const sb_vr_subscriber_t *s)
{
    return s->state == SB_VR_SUB_ACTIVE || s->state == SB_VR_SUB_RENEGOTIATING ||
           s->state == SB_VR_SUB_REOFFERED || s->state == SB_VR_SUB_REOFFERING;
}
