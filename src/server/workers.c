/* The worker pool: each worker owns a store handle and runs blocking handlers and background
 * tasks; finished requests go back to their loop. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "server/internal.h"

static void run_task(fws_server *srv, srv_task *t, fws_store *store)
{
    fws_errbuf eb = {{0}};
    fws_err err = t->fn(srv, store, t->ctx, &eb);
    if (err != FWS_OK)
        fws_server_log(srv, "error", "task failed", "task", t->name, "error",
                       eb.msg[0] ? eb.msg : fws_strerror(err), NULL);
    atomic_store(&t->running, 0);
}

static void *worker_main(void *arg)
{
    srv_worker_arg *wa = arg;
    fws_server *srv = wa->srv;
    srv_workers *w = &srv->workers;
    fws_store *store = w->stores[w->shared ? 0 : wa->index];
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (w->head == NULL && !w->stopping)
            pthread_cond_wait(&w->cv, &w->mu);
        srv_job *job = w->head;
        if (job == NULL) {
            pthread_mutex_unlock(&w->mu);
            return NULL;
        }
        w->head = job->next;
        if (w->head == NULL)
            w->tail = NULL;
        pthread_mutex_unlock(&w->mu);
        if (w->shared)
            pthread_mutex_lock(&w->store_mu);
        if (job->rq != NULL)
            srv_run_handler(srv, job->rq, store);
        else
            run_task(srv, &srv->tasks[job->task], store);
        if (w->shared)
            pthread_mutex_unlock(&w->store_mu);
        if (job->rq != NULL)
            srv_loop_complete(srv_conn_loop(job->rq), job->rq);
        free(job);
    }
}

static void push(srv_workers *w, srv_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&w->mu);
    if (w->tail)
        w->tail->next = job;
    else
        w->head = job;
    w->tail = job;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void srv_workers_submit(fws_server *srv, srv_request *rq)
{
    srv_job *job = calloc(1, sizeof(*job));
    if (job == NULL) {
        fws_resp_error(&rq->resp, 503, "overloaded", "out of memory");
        srv_loop_complete(srv_conn_loop(rq), rq);
        return;
    }
    job->rq = rq;
    push(&srv->workers, job);
}

fws_err srv_workers_start(fws_server *srv, fws_errbuf *eb)
{
    srv_workers *w = &srv->workers;
    for (unsigned i = 0; i < w->n; i++) {
        w->args[i].srv = srv;
        w->args[i].index = i;
        if (pthread_create(&w->threads[i], NULL, worker_main, &w->args[i]) != 0) {
            srv_workers_stop(srv);
            return fws_errf(eb, FWS_ERR_NOMEM, "cannot start worker threads");
        }
        w->started++;
    }
    return FWS_OK;
}

/* Finishes the queue, then joins every worker. */
void srv_workers_stop(fws_server *srv)
{
    srv_workers *w = &srv->workers;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (unsigned i = 0; i < w->started; i++)
        pthread_join(w->threads[i], NULL);
    w->started = 0;
}

fws_err fws_server_add_task(fws_server *srv, const char *name, unsigned interval_ms, fws_task_fn fn,
                            void *ctx, fws_errbuf *eb)
{
    if (srv->listening)
        return fws_errf(eb, FWS_ERR_STATE, "task %s added after listen", name);
    if (fn == NULL || interval_ms == 0 || name == NULL || strlen(name) >= 64)
        return fws_errf(eb, FWS_ERR_ARG, "task: a name, an interval and a function are needed");
    if (srv->n_tasks == FWS_SERVER_TASKS_MAX)
        return fws_errf(eb, FWS_ERR_TOO_BIG, "more than %d tasks", FWS_SERVER_TASKS_MAX);
    srv_task *t = &srv->tasks[srv->n_tasks++];
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->interval_ms = interval_ms;
    t->fn = fn;
    t->ctx = ctx;
    t->next_ms = 0;
    atomic_store(&t->running, 0);
    return FWS_OK;
}

void srv_tasks_tick(fws_server *srv, uint64_t now_ms)
{
    for (size_t i = 0; i < srv->n_tasks; i++) {
        srv_task *t = &srv->tasks[i];
        if (t->next_ms == 0)
            t->next_ms = now_ms + t->interval_ms;
        if (now_ms < t->next_ms)
            continue;
        t->next_ms = now_ms + t->interval_ms;
        if (atomic_exchange(&t->running, 1))
            continue; /* the previous run is still going */
        srv_job *job = calloc(1, sizeof(*job));
        if (job == NULL) {
            atomic_store(&t->running, 0);
            continue;
        }
        job->task = (int)i;
        push(&srv->workers, job);
    }
}
