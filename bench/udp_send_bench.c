/* The kernel's share of a fan-out: sender CPU per 1200-byte UDP datagram on loopback, sent
 * the way a fan-out sends them (a burst of packets, each to every subscriber, each subscriber
 * on its own socket), with sendto, sendmmsg (one call per subscriber's part of the burst),
 * or UDP GSO (one call per subscriber, the burst as equal segments: the floor, which a
 * fan-out cannot use, having one packet for many destinations).
 *
 * A child process reads every datagram (one socket per subscriber, epoll, recvmmsg), as the
 * clients would. The sender sleeps between bursts as a media loop does, and counts its own CPU
 * (getrusage: user + system, the scheduler's exact runtime). Not a test: it prints figures
 * for bench/README.md. Run it inside `unshare --net` on an idle machine.
 *
 * Usage: bench/udp_send_bench [--mode sendto|sendmmsg|gso] [--subscribers 50] [--burst 7]
 *                             [--rate 23000] [--seconds 4] [--df] */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define UB_PKT 1200
#define UB_BASE_PORT 30000
#define UB_MAX_SUBS 1000
#define UB_MAX_BURST 64

typedef struct ub_opts {
    const char *mode;
    int subs, burst, rate, seconds;
    bool df;
} ub_opts_t;

static double ub_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int ub_socket(int port)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int big = 4 << 20;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big)) != 0 ||
        bind(s, (struct sockaddr *)&a, sizeof(a)) != 0) {
        perror("udp_send_bench: socket");
        exit(1);
    }
    return s;
}

/* The clients: read everything until the sender is done; print how many arrived. */
static void ub_receiver(const ub_opts_t *o, int ready_fd)
{
    int ep = epoll_create1(0);
    for (int i = 0; i < o->subs; i++) {
        int s = ub_socket(UB_BASE_PORT + i);
        struct epoll_event e = {.events = EPOLLIN, .data.fd = s};
        epoll_ctl(ep, EPOLL_CTL_ADD, s, &e);
    }
    if (write(ready_fd, "x", 1) != 1)
        exit(1);
    static char buf[8][65536];
    struct iovec iov[8];
    struct mmsghdr m[8];
    long got = 0;
    double end = ub_now() + o->seconds + 1;
    while (ub_now() < end) {
        struct epoll_event ev[64];
        int n = epoll_wait(ep, ev, 64, 100);
        for (int i = 0; i < n; i++) {
            for (;;) {
                for (int k = 0; k < 8; k++) {
                    iov[k] = (struct iovec){buf[k], sizeof(buf[k])};
                    m[k] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov[k], .msg_iovlen = 1}};
                }
                int r = recvmmsg(ev[i].data.fd, m, 8, MSG_DONTWAIT, NULL);
                if (r <= 0)
                    break;
                for (int k = 0; k < r; k++) /* a GSO datagram arrives as its segments */
                    got += (long)((m[k].msg_len + UB_PKT - 1) / UB_PKT);
            }
        }
    }
    printf("  received %ld datagrams\n", got);
    exit(0);
}

/* One burst: every packet of it to every subscriber. Returns datagrams the kernel took. */
static long ub_send_burst(const ub_opts_t *o, const int *fd, const struct sockaddr_in *dst,
                          uint8_t *pkt)
{
    long sent = 0;
    if (!strcmp(o->mode, "sendto")) {
        for (int b = 0; b < o->burst; b++)
            for (int i = 0; i < o->subs; i++)
                sent += sendto(fd[i], pkt + (size_t)b * UB_PKT, UB_PKT, MSG_DONTWAIT,
                               (const struct sockaddr *)&dst[i], sizeof(dst[i])) > 0;
    } else if (!strcmp(o->mode, "sendmmsg")) {
        struct iovec iov[UB_MAX_BURST];
        struct mmsghdr m[UB_MAX_BURST];
        for (int i = 0; i < o->subs; i++) {
            for (int b = 0; b < o->burst; b++) {
                iov[b] = (struct iovec){pkt + (size_t)b * UB_PKT, UB_PKT};
                m[b] = (struct mmsghdr){.msg_hdr = {.msg_name = (void *)&dst[i],
                                                    .msg_namelen = sizeof(dst[i]),
                                                    .msg_iov = &iov[b], .msg_iovlen = 1}};
            }
            int r = sendmmsg(fd[i], m, (unsigned)o->burst, MSG_DONTWAIT);
            sent += r > 0 ? r : 0;
        }
    } else { /* gso */
        char cbuf[CMSG_SPACE(sizeof(uint16_t))];
        for (int i = 0; i < o->subs; i++) {
            struct iovec v = {pkt, (size_t)o->burst * UB_PKT};
            struct msghdr h = {.msg_name = (void *)&dst[i], .msg_namelen = sizeof(dst[i]),
                               .msg_iov = &v, .msg_iovlen = 1, .msg_control = cbuf,
                               .msg_controllen = sizeof(cbuf)};
            struct cmsghdr *cm = CMSG_FIRSTHDR(&h);
            cm->cmsg_level = SOL_UDP;
            cm->cmsg_type = UDP_SEGMENT;
            cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t seg = UB_PKT;
            memcpy(CMSG_DATA(cm), &seg, sizeof(seg));
            sent += sendmsg(fd[i], &h, MSG_DONTWAIT) > 0 ? o->burst : 0;
        }
    }
    return sent;
}

static double ub_cpu_seconds(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return (double)(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
           (double)(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static int ub_parse(int argc, char **argv, ub_opts_t *o)
{
    *o = (ub_opts_t){"sendto", 50, 7, 23000, 4, false};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--df")) {
            o->df = true;
            continue;
        }
        if (!v)
            return -1;
        i++;
        if (!strcmp(a, "--mode"))
            o->mode = v;
        else if (!strcmp(a, "--subscribers"))
            o->subs = atoi(v);
        else if (!strcmp(a, "--burst"))
            o->burst = atoi(v);
        else if (!strcmp(a, "--rate"))
            o->rate = atoi(v);
        else if (!strcmp(a, "--seconds"))
            o->seconds = atoi(v);
        else
            return -1;
    }
    bool known = !strcmp(o->mode, "sendto") || !strcmp(o->mode, "sendmmsg") ||
                 !strcmp(o->mode, "gso");
    return known && o->subs > 0 && o->subs <= UB_MAX_SUBS && o->burst > 0 &&
                   o->burst <= UB_MAX_BURST && o->rate > 0 && o->seconds > 0
               ? 0
               : -1;
}

int main(int argc, char **argv)
{
    ub_opts_t o;
    if (ub_parse(argc, argv, &o) != 0) {
        fprintf(stderr, "usage: %s [--mode sendto|sendmmsg|gso] [--subscribers N] [--burst K] "
                        "[--rate PKT/S] [--seconds S] [--df]\n", argv[0]);
        return 2;
    }
    int ready[2];
    if (pipe(ready) != 0)
        return 1;
    pid_t child = fork();
    if (child == 0)
        ub_receiver(&o, ready[1]);
    char c;
    if (child < 0 || read(ready[0], &c, 1) != 1)
        return 1;
    int *fd = calloc((size_t)o.subs, sizeof(*fd));
    struct sockaddr_in *dst = calloc((size_t)o.subs, sizeof(*dst));
    uint8_t *pkt = malloc((size_t)o.burst * UB_PKT);
    if (!fd || !dst || !pkt)
        return 1;
    memset(pkt, 0xab, (size_t)o.burst * UB_PKT);
    for (int i = 0; i < o.subs; i++) {
        fd[i] = ub_socket(UB_BASE_PORT + UB_MAX_SUBS + i);
        dst[i] = (struct sockaddr_in){.sin_family = AF_INET,
                                      .sin_port = htons((uint16_t)(UB_BASE_PORT + i)),
                                      .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int pmtu = IP_PMTUDISC_DO;
        if (o.df)
            setsockopt(fd[i], IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
    }
    double interval = (double)o.burst * o.subs / o.rate, t0 = ub_now();
    double cpu0 = ub_cpu_seconds();
    long sent = 0;
    for (long k = 0; ub_now() < t0 + o.seconds; k++) {
        double due = t0 + (double)k * interval;
        struct timespec ts = {(time_t)due, (long)((due - (double)(time_t)due) * 1e9)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        sent += ub_send_burst(&o, fd, dst, pkt);
    }
    double cpu = ub_cpu_seconds() - cpu0;
    printf("%-8s subscribers %d, burst %d, DF %s: %ld datagrams, %.3f us of sender CPU each\n",
           o.mode, o.subs, o.burst, o.df ? "on" : "off", sent, sent ? cpu * 1e6 / (double)sent : 0.0);
    fflush(stdout);
    int status;
    waitpid(child, &status, 0);
    for (int i = 0; i < o.subs; i++)
        close(fd[i]);
    free(fd);
    free(dst);
    free(pkt);
    return 0;
}
