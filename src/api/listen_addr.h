/* The socket address a transport listens on, from its "bind" setting. Any thread. */
#ifndef SB_API_LISTEN_ADDR_H
#define SB_API_LISTEN_ADDR_H

#include <sys/socket.h>

/* bind: "" or NULL for every IPv4 address, else an IPv4 or IPv6 literal. Returns 0, or
 * SB_EINVAL for anything else. */
int sb_api_listen_addr(const char *bind, unsigned port, struct sockaddr_storage *out);

#endif
