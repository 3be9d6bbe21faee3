/* One SCTP association of WebRTC data channels (RFC 8261, 8831), through usrsctp, behind an
 * interface of our own that is sans-IO at its edge: SCTP packets in (what DTLS decrypted),
 * SCTP packets out (for DTLS to encrypt), messages in and out, and a timer tick. usrsctp runs
 * with no threads of its own (usrsctp_init_nothreads), and whatever it produces is queued in
 * the association and handed to the owner only by sb_sctp_drain, on the owner's thread: no
 * usrsctp call path ever runs our callbacks on another thread.
 *
 * usrsctp identifies an association by an opaque address; ours is a small integer id looked
 * up in a table (never a pointer to our memory), so a late packet or timer for an association
 * already freed finds nothing and is dropped.
 *
 * Threads: sb_sctp_new/connect/input/send/drain/free on the owner's thread (one per
 * association); sb_sctp_tick from one thread (it may make packets for any association: they
 * are queued, and ops.wake tells the owner to drain). */
#ifndef SB_PROTO_SCTP_H
#define SB_PROTO_SCTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_SCTP_DEFAULT_PORT 5000
#define SB_SCTP_MAX_STREAMS 1024                /* RFC 8831 allows 65535: memory */
#define SB_SCTP_DEFAULT_MAX_MESSAGE (256 << 10) /* a=max-message-size */
#define SB_SCTP_OUTBOX_MAX_BYTES (4 << 20)      /* queued for the owner, then dropped */
#define SB_SCTP_REASSEMBLY_MESSAGES 4 /* pieces held for reassembly: this many max_message */
#define SB_SCTP_DEFAULT_MTU 1100 /* SCTP packets fit a 1,200-byte DTLS datagram */
#define SB_SCTP_WRITABLE_THRESHOLD (64 << 10) /* free send buffer that calls on_writable */

typedef struct sb_sctp sb_sctp_t;

typedef enum sb_sctp_state {
    SB_SCTP_CONNECTING,
    SB_SCTP_UP,     /* the association is established: messages flow */
    SB_SCTP_CLOSED, /* lost, shut down, or never established: final */
} sb_sctp_state_t;

typedef struct sb_sctp_ops {
    /* An SCTP packet for the peer (hand it to DTLS). Borrowed for the call. */
    void (*send)(void *ctx, const uint8_t *pkt, size_t len);
    /* A whole message from the peer on stream, with its PPID. Borrowed for the call. */
    void (*on_message)(void *ctx, uint16_t stream, uint32_t ppid, const uint8_t *data,
                       size_t len);
    void (*on_state)(void *ctx, sb_sctp_state_t state);
    /* The stream is closed both ways (the peer reset it, RFC 8831 section 6.7; our side is
     * reset in turn): its number may be opened again. May be NULL. */
    void (*on_stream_closed)(void *ctx, uint16_t stream);
    /* The send buffer has SB_SCTP_WRITABLE_THRESHOLD bytes free again, after some send was
     * refused with SB_EAGAIN or any time acknowledgements free it: send what waits. May be
     * NULL. */
    void (*on_writable)(void *ctx);
    /* Any thread (from sb_sctp_tick): something is queued, call sb_sctp_drain. Not called
     * for what the owner's own calls (connect, input, send) queue: it drains after them.
     * May be NULL when the owner drains after every tick itself. */
    void (*wake)(void *ctx);
} sb_sctp_ops_t;

typedef struct sb_sctp_config {
    uint16_t local_port, remote_port; /* a=sctp-port of each side; 0: 5000 */
    uint16_t max_streams;             /* 0: SB_SCTP_MAX_STREAMS */
    size_t max_message;               /* larger messages are refused; 0: the default */
    uint32_t mtu;                     /* largest SCTP packet; 0: SB_SCTP_DEFAULT_MTU */
} sb_sctp_config_t;

/* How one message is sent (a data channel's properties, RFC 8831 section 6.6). */
typedef struct sb_sctp_send_opts {
    bool unordered;
    bool rexmit_limited; /* partial reliability by retransmissions (max_rexmit) */
    bool time_limited;   /* ... or by lifetime (lifetime_ms) */
    uint32_t max_rexmit, lifetime_ms;
} sb_sctp_send_opts_t;

/* Counters: what was dropped instead of growing memory. */
typedef struct sb_sctp_stats {
    uint64_t packets_in, packets_out, messages_in, messages_out;
    uint64_t outbox_dropped;   /* packets or messages dropped over SB_SCTP_OUTBOX_MAX_BYTES */
    uint64_t oversize_refused; /* messages over max_message, both ways */
    uint64_t reassembly_dropped; /* messages in pieces on several streams at once, dropped
                                  * over SB_SCTP_REASSEMBLY_MESSAGES * max_message bytes */
} sb_sctp_stats_t;

/* Once per process, before any association. 0 or SB_EIO. */
int sb_sctp_global_init(void);
void sb_sctp_global_deinit(void);

/* A new association (not connected yet). 0, SB_EINVAL, SB_EIO, SB_ENOMEM (id table full). */
int sb_sctp_new(const sb_sctp_config_t *cfg, const sb_sctp_ops_t *ops, void *ctx,
                sb_sctp_t **out);

/* Start the association: both sides connect at once (RFC 8841's simultaneous open), once
 * DTLS is up. 0 or SB_EIO. Packets to send come out of sb_sctp_drain. */
int sb_sctp_connect(sb_sctp_t *s);

/* An SCTP packet from the peer (DTLS application data). Then drain. */
void sb_sctp_input(sb_sctp_t *s, const uint8_t *pkt, size_t len);

/* Send one message. 0; SB_EINVAL (stream over the limit, len 0, larger than max_message);
 * SB_ESTATE (not up); SB_EAGAIN (usrsctp's send buffer full: the message was not taken). */
int sb_sctp_send(sb_sctp_t *s, uint16_t stream, uint32_t ppid, const uint8_t *data, size_t len,
                 const sb_sctp_send_opts_t *opts);

/* Close our side of stream (an outgoing stream reset, RFC 6525): the peer closes its side
 * in answer, then ops.on_stream_closed. 0, SB_EINVAL, SB_ESTATE (not up), SB_EIO. */
int sb_sctp_close_stream(sb_sctp_t *s, uint16_t stream);

/* Hand everything queued to ops (packets, messages, state changes), on the owner's thread.
 * Not re-entered: a call from inside an op returns at once, and the drain under way delivers
 * what that op queued, in order. */
void sb_sctp_drain(sb_sctp_t *s);

/* usrsctp's timers (retransmissions, heartbeats): call every ~10 ms with the time elapsed. */
void sb_sctp_tick(uint32_t elapsed_ms);

sb_sctp_state_t sb_sctp_state(const sb_sctp_t *s);
sb_sctp_stats_t sb_sctp_stats(const sb_sctp_t *s);

/* Close (ABORT if still up) and free. NULL is a no-op. Never from inside an op. */
void sb_sctp_free(sb_sctp_t *s);

#endif
