/* The recorder's one thread and its queue: requests, packets and closes, run in the order
 * they were queued, so a packet never reaches a file that was already closed, nor one not
 * yet opened. Packets are bounded (RECORDER_QUEUE_MAX waiting at once); requests and closes
 * are never refused, since each client has few. */
#include "recorder.h"

#include <pthread.h>

#include "switchboard/alloc.h"
#include "switchboard/log.h"

#define RECORDER_QUEUE_MAX 4096

typedef enum { JOB_REQUEST, JOB_PACKET, JOB_CLOSE, JOB_STOP } job_kind_t;

typedef struct job {
    struct job *next;
    job_kind_t kind;
    recorder_session_t *s; /* a reference of the job's own */
    char *transaction;     /* JOB_REQUEST */
    json_t *body, *jsep;   /* JOB_REQUEST */
    sb_rtp_packet_t *pkt;  /* JOB_PACKET: retained with the core's packet_retain */
} job_t;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    job_t *head, *tail;
    unsigned packets; /* JOB_PACKETs waiting */
    pthread_t thread;
} q = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* Under q.lock. */
static void job_append(job_t *j)
{
    if (q.tail)
        q.tail->next = j;
    else
        q.head = j;
    q.tail = j;
    pthread_cond_signal(&q.wake);
}

static void job_push(job_t *j)
{
    pthread_mutex_lock(&q.lock);
    job_append(j);
    pthread_mutex_unlock(&q.lock);
}

static job_t *job_pop(void)
{
    pthread_mutex_lock(&q.lock);
    while (!q.head)
        pthread_cond_wait(&q.wake, &q.lock);
    job_t *j = q.head;
    q.head = j->next;
    if (!q.head)
        q.tail = NULL;
    if (j->kind == JOB_PACKET)
        q.packets--;
    pthread_mutex_unlock(&q.lock);
    return j;
}

static job_t *job_new(job_kind_t kind, recorder_session_t *s)
{
    job_t *j = SB_NEW(job_t);
    j->kind = kind;
    j->s = s;
    if (s)
        sb_refcount_inc(&s->refs);
    return j;
}

static void job_free(job_t *j)
{
    if (j->pkt)
        recorder_core->packet_release(j->pkt);
    sb_free(j->transaction);
    json_decref(j->body);
    json_decref(j->jsep);
    if (j->s)
        recorder_session_unref(j->s);
    sb_free(j);
}

static void *worker_run(void *unused)
{
    (void)unused;
    for (;;) {
        job_t *j = job_pop();
        job_kind_t kind = j->kind;
        if (kind == JOB_REQUEST)
            recorder_do_request(j->s, j->transaction, j->body, j->jsep);
        else if (kind == JOB_PACKET)
            recorder_do_packet(j->s, j->pkt);
        else if (kind == JOB_CLOSE)
            recorder_do_close(j->s, false);
        job_free(j);
        if (kind == JOB_STOP)
            return NULL;
    }
}

int recorder_worker_start(void)
{
    return pthread_create(&q.thread, NULL, worker_run, NULL) == 0 ? 0 : -1;
}

/* Every job queued before runs first (deinit comes after every handle is gone). */
void recorder_worker_stop(void)
{
    job_push(job_new(JOB_STOP, NULL));
    pthread_join(q.thread, NULL);
}

void recorder_worker_request(recorder_session_t *s, const char *transaction, json_t *body,
                             json_t *jsep)
{
    job_t *j = job_new(JOB_REQUEST, s);
    j->transaction = sb_strdup(transaction);
    j->body = json_incref(body);
    j->jsep = jsep ? json_incref(jsep) : NULL;
    job_push(j);
}

/* One lock per packet: the bound is checked and the job queued together (when the queue is
 * full, the retain and the job were for nothing, but that is the overload case only). */
bool recorder_worker_packet(recorder_session_t *s, const sb_rtp_packet_t *pkt)
{
    sb_rtp_packet_t *kept = recorder_core->packet_retain(pkt);
    if (!kept) /* a packet with no core buffer: nothing to keep */
        return false;
    job_t *j = job_new(JOB_PACKET, s);
    j->pkt = kept;
    pthread_mutex_lock(&q.lock);
    bool full = q.packets >= RECORDER_QUEUE_MAX;
    if (!full) {
        q.packets++;
        job_append(j);
    }
    pthread_mutex_unlock(&q.lock);
    if (full)
        job_free(j);
    return !full;
}

void recorder_worker_close(recorder_session_t *s)
{
    job_push(job_new(JOB_CLOSE, s));
}
