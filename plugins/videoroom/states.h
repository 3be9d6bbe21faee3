/* The VideoRoom's two state machines (states.c): a publisher's lifecycle and a subscriber's
 * negotiation. Each is one enum of states, one of events, and one transition function that
 * applies an event the table below allows and refuses any other (logged at debug, the state
 * kept). The callers act on a state change (announce, close a PeerConnection, offer); the
 * predicates below are what the rest of the plugin asks of a state.
 *
 * Threads: everything here under the plugin lock (sb_vr_lock), like the objects' other ctl
 * fields. */
#ifndef SB_VIDEOROOM_STATES_H
#define SB_VIDEOROOM_STATES_H

#include <stdbool.h>

typedef struct sb_vr_publisher sb_vr_publisher_t;
typedef struct sb_vr_subscriber sb_vr_subscriber_t;

/* ---- a publisher's lifecycle -----------------------------------------------------------
 *
 * A participant starts JOINED (put in the room's participants table, publishing nothing).
 *
 *   state \ event | ANSWERED     MEDIA_UP   UNPUBLISH   LEAVE
 *   --------------+---------------------------------------------
 *   JOINED        | NEGOTIATED   -          -           LEFT
 *   NEGOTIATED    | NEGOTIATED   LIVE       JOINED      -
 *   LIVE          | LIVE         -          JOINED      -
 *   LEFT          | -            -          -           -
 *
 *   JOINED      in the room, nothing published (again after an unpublish)
 *   NEGOTIATED  the client's offer was answered: streams[] valid, counted against the room's
 *               publishers; its PeerConnection is not up yet
 *   LIVE        its PeerConnection is up and the room was told ("publishers"): it is listed
 *               as a publisher, its talking is reported, a new answer is announced again
 *   LEFT        out of the room (leave, kick, room destroyed, handle gone), for good
 *
 *   ANSWERED    publish / configure / joinandconfigure answered the client's offer (again:
 *               a renegotiation)
 *   MEDIA_UP    setup_media: the PeerConnection is up
 *   UNPUBLISH   unpublish, the PeerConnection's hangup, and the first step of a leave
 *   LEAVE       leave, kick, room destroyed, handle gone (after UNPUBLISH when publishing) */
typedef enum sb_vr_pub_state {
    SB_VR_PUB_JOINED = 0,
    SB_VR_PUB_NEGOTIATED,
    SB_VR_PUB_LIVE,
    SB_VR_PUB_LEFT,
} sb_vr_pub_state_t;

typedef enum sb_vr_pub_event {
    SB_VR_PUB_EV_ANSWERED,
    SB_VR_PUB_EV_MEDIA_UP,
    SB_VR_PUB_EV_UNPUBLISH,
    SB_VR_PUB_EV_LEAVE,
} sb_vr_pub_event_t;

/* Apply ev to p's state: true, or false (refused) when the table does not allow it. */
bool sb_vr_pub_transition(sb_vr_publisher_t *p, sb_vr_pub_event_t ev);
/* Listed in room->participants (any state but LEFT). */
bool sb_vr_pub_in_room(const sb_vr_publisher_t *p);
/* An answer was made and not unpublished since: streams[] valid (NEGOTIATED, LIVE). */
bool sb_vr_pub_negotiated(const sb_vr_publisher_t *p);
/* Publishing: the PeerConnection up and announced (LIVE). */
bool sb_vr_pub_live(const sb_vr_publisher_t *p);

/* ---- a subscriber's negotiation ---------------------------------------------------------
 *
 * Where the offer/answer exchange of the subscription's PeerConnection is: the plugin
 * offers, the client answers ("start" with a jsep). A subscription starts JOINED.
 *
 *   state \ event | OFFER          MADE        FAILED      ANSWER   LEAVE
 *   --------------+---------------------------------------------------------
 *   JOINED        | OFFERING       -           -           -        LEFT
 *   OFFERING      | -              OFFERED     JOINED      -        LEFT
 *   OFFERED       | -              -           -           ACTIVE   LEFT
 *   ACTIVE        | RENEGOTIATING  -           -           -        LEFT
 *   RENEGOTIATING | -              REOFFERED   ACTIVE      -        LEFT
 *   REOFFERED     | REOFFERING     -           -           ACTIVE   LEFT
 *   REOFFERING    | -              REOFFERED   REOFFERED   -        LEFT
 *   LEFT          | -              -           -           -        -
 *
 *   JOINED         the subscription exists, no offer made yet
 *   OFFERING       the first offer is being made (make_offer, the lock released)
 *   OFFERED        the first offer is out, waiting for the answer
 *   ACTIVE         the client answered: a PeerConnection, no offer out
 *   RENEGOTIATING  a new offer is being made for the answered PeerConnection
 *   REOFFERED      that offer is out, waiting for the answer
 *   REOFFERING     a new offer (an ICE restart) is being made while the last one is still
 *                  out; when it fails, the last one still waits for its answer
 *   LEFT           the subscription ended (leave, room destroyed, hangup, handle gone)
 *
 *   OFFER          a negotiation starts (join, renegotiation, ICE restart)
 *   MADE, FAILED   the core made the offer and it went to the client, or not
 *   ANSWER         the client's answer was processed
 *   LEAVE          the subscription ends
 *
 * Offers are made on the message thread only, so no offer starts while another is being
 * made. Not states of the exchange (they go with any state), so plain fields of the
 * subscriber: reneg_due (a new offer is owed once the one out is answered) and reneg_queued
 * (a deferred renegotiation is queued on the message thread). */
typedef enum sb_vr_sub_state {
    SB_VR_SUB_JOINED = 0,
    SB_VR_SUB_OFFERING,
    SB_VR_SUB_OFFERED,
    SB_VR_SUB_ACTIVE,
    SB_VR_SUB_RENEGOTIATING,
    SB_VR_SUB_REOFFERED,
    SB_VR_SUB_REOFFERING,
    SB_VR_SUB_LEFT,
} sb_vr_sub_state_t;

typedef enum sb_vr_sub_event {
    SB_VR_SUB_EV_OFFER,
    SB_VR_SUB_EV_MADE,
    SB_VR_SUB_EV_FAILED,
    SB_VR_SUB_EV_ANSWER,
    SB_VR_SUB_EV_LEAVE,
} sb_vr_sub_event_t;

/* Apply ev to s's state: true, or false (refused) when the table does not allow it. */
bool sb_vr_sub_transition(sb_vr_subscriber_t *s, sb_vr_sub_event_t ev);
/* The subscription ended (LEFT). */
bool sb_vr_sub_left(const sb_vr_subscriber_t *s);
/* An offer is out, waiting for the client's answer (OFFERED, REOFFERED, REOFFERING). */
bool sb_vr_sub_offer_out(const sb_vr_subscriber_t *s);
/* An offer is being made, the lock released (OFFERING, RENEGOTIATING, REOFFERING). */
bool sb_vr_sub_offering(const sb_vr_subscriber_t *s);
/* The client answered once: its PeerConnection exists (ACTIVE, RENEGOTIATING, REOFFERED,
 * REOFFERING). */
bool sb_vr_sub_answered(const sb_vr_subscriber_t *s);

#endif
