/*
** dl_pq.c: libpq, loaded on the first call into it (see dl.h), for the
** host's record on a PostgreSQL server (record_pg.c). libpq brings
** Kerberos, LDAP and TLS behind it; a record in a SQLite file needs none.
*/
#include <libpq-fe.h>

#include "dl.h"

#define PQ_FUNCTIONS(X, V, N) \
  X(pq, PGconn *, PQconnectdbParams, (const char *const *keys, const char *const *vals, \
    int expand), (keys, vals, expand), NULL) \
  V(pq, PQreset, (PGconn *c), (c)) \
  X(pq, ConnStatusType, PQstatus, (const PGconn *c), (c), CONNECTION_BAD) \
  X(pq, char *, PQerrorMessage, (const PGconn *c), (c), "libpq is not loaded") \
  V(pq, PQfinish, (PGconn *c), (c)) \
  X(pq, PGresult *, PQexec, (PGconn *c, const char *q), (c, q), NULL) \
  X(pq, PGresult *, PQexecParams, (PGconn *c, const char *q, int n, const Oid *types, \
    const char *const *values, const int *lengths, const int *formats, int rformat), \
    (c, q, n, types, values, lengths, formats, rformat), NULL) \
  X(pq, ExecStatusType, PQresultStatus, (const PGresult *r), (r), PGRES_FATAL_ERROR) \
  X(pq, char *, PQresultErrorField, (const PGresult *r, int code), (r, code), NULL) \
  V(pq, PQclear, (PGresult *r), (r)) \
  X(pq, int, PQntuples, (const PGresult *r), (r), 0) \
  X(pq, char *, PQgetvalue, (const PGresult *r, int row, int col), (r, row, col), NULL) \
  X(pq, int, PQgetisnull, (const PGresult *r, int row, int col), (r, row, col), 1) \
  X(pq, char *, PQcmdTuples, (PGresult *r), (r), "") \
  X(pq, PQnoticeProcessor, PQsetNoticeProcessor, (PGconn *c, PQnoticeProcessor f, void *ud), \
    (c, f, ud), NULL) \
  X(pq, int, PQserverVersion, (const PGconn *c), (c), 0) \
  X(pq, PGTransactionStatusType, PQtransactionStatus, (const PGconn *c), (c), PQTRANS_UNKNOWN) \
  X(pq, int, PQgetlength, (const PGresult *r, int row, int col), (r, row, col), 0) \
  X(pq, int, PQnfields, (const PGresult *r), (r), 0) \
  X(pq, int, PQputCopyData, (PGconn *c, const char *buf, int n), (c, buf, n), -1) \
  X(pq, int, PQputCopyEnd, (PGconn *c, const char *msg), (c, msg), -1) \
  X(pq, int, PQgetCopyData, (PGconn *c, char **buf, int async), (c, buf, async), -2) \
  X(pq, PGresult *, PQgetResult, (PGconn *c), (c), NULL) \
  V(pq, PQfreemem, (void *p), (p))

/* The ABI name: libpq has kept it since PostgreSQL 8.0 (2005). */
VOUCH_DL_LIBRARY(pq, "libpq.so.5", PQ_FUNCTIONS)
VOUCH_DL_STUBS(PQ_FUNCTIONS)
