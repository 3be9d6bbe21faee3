/* SIGHUP: read the configuration again (the file and the command line, as at start) and
 * apply what can change while running: the log level, the session and drain timeouts, the
 * token settings, the event types, the TLS certificate, and each plugin's own configuration
 * (rooms new in it). Every other setting that changed is logged as needing a restart.
 * Main thread. */
#ifndef SB_RELOAD_H
#define SB_RELOAD_H

#include "config/config.h"

/* cfg: the configuration running (updated in place for what was applied). argc/argv: the
 * command line, read again over the file. drain_timeout_s: where main keeps it. */
void sb_reload(sb_config_t *cfg, int argc, char **argv, unsigned *drain_timeout_s);

#endif
