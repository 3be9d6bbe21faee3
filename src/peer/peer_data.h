/* The data channels of one PeerConnection: its SCTP association (proto/sctp.h) carried by
 * DTLS, the channels DCEP opens on it (proto/dcep.h), and the plugin's view of them
 * (on_data / send_data, by label). Internal to src/peer; the peer's loop thread only, except
 * sb_peer_data_global_* (start-up and shutdown). */
#ifndef SB_PEER_PEER_DATA_H
#define SB_PEER_PEER_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "switchboard/plugin.h"

struct sb_peer;
typedef struct sb_peer_data sb_peer_data_t;

/* usrsctp and the thread that drives its timers (every 10 ms). 0 or SB_EIO. */
int sb_peer_data_global_start(void);
void sb_peer_data_global_stop(void);

/* Once DTLS is up on a PeerConnection that negotiated a data m-line: the association
 * starts (the peer's SCTP port, its max-message-size; our stream parity from the DTLS
 * role). NULL when it cannot be created (logged). */
sb_peer_data_t *sb_peer_data_start(struct sb_peer *p, uint16_t remote_port,
                                   uint32_t remote_max_message, bool dtls_client);
/* DTLS application data: one SCTP packet. */
void sb_peer_data_input(sb_peer_data_t *d, const uint8_t *pkt, size_t len);
/* A message to the client on the channel labelled msg->label (opened with msg's properties
 * when there is none); see sb_core_api_t.send_data. */
int sb_peer_data_send(sb_peer_data_t *d, const sb_data_message_t *msg);
/* Close our channels labelled label (see sb_core_api_t.close_data). */
int sb_peer_data_close(sb_peer_data_t *d, const char *label);
/* The association was up and has ended (an ABORT either way): a new one needs a new start. */
bool sb_peer_data_ended(const sb_peer_data_t *d);
/* The client's a=max-message-size changed in a renegotiation. */
void sb_peer_data_set_remote_max(sb_peer_data_t *d, uint32_t remote_max_message);

/* What a client that does not keep up cost: messages dropped instead of queued. */
typedef struct sb_peer_data_stats {
    unsigned channels;           /* open now */
    size_t pending_bytes;        /* reliable messages held back for room in the send buffer */
    uint64_t unreliable_dropped; /* partially reliable channels: the buffer was full */
    uint64_t reliable_dropped;   /* reliable channels: the buffer and 1 MiB held back were full */
    uint64_t oversize_refused;   /* over the client's max-message-size */
} sb_peer_data_stats_t;
sb_peer_data_stats_t sb_peer_data_stats(const sb_peer_data_t *d);

/* Close the association (ABORT) and free. NULL is a no-op. */
void sb_peer_data_stop(sb_peer_data_t *d);

#endif
