/* The media plane's process-wide start and stop: libsrtp, the DTLS certificate, the ICE
 * settings (names resolved once, here, never on a media loop), the media loops. Main
 * thread. */
#ifndef SB_PEER_MEDIA_H
#define SB_PEER_MEDIA_H

#include "config/config.h"

/* 0, or SB_E* with the reason logged (the daemon then refuses to start). */
int sb_media_start(const sb_config_t *cfg);
/* After every session is gone. */
void sb_media_stop(void);

#endif
