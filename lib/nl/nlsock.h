/* nlsock.h — an rtnetlink (NETLINK_ROUTE) socket: requests with ACKs,
 * dumps, and multicast event subscriptions.
 *
 * A netlink socket acts on the network namespace it was created in, for
 * its whole life: open one inside a namespace with nl_netns_sock_open()
 * (netns.h) and it keeps working there from any thread. Requests ask for
 * extended ACKs, so a refused request comes back with the kernel's own
 * explanation (nl_sock_errmsg()), e.g. "Unknown device type".
 *
 * Not thread-safe: one socket per thread (or a lock around it). */
#ifndef VT_NL_NLSOCK_H
#define VT_NL_NLSOCK_H

#include <stdint.h>

#include "nl/nlmsg.h"

struct nl_sock;

/* Receive buffer size: large enough for any rtnetlink dump datagram (the
 * kernel fills at most 32 KiB per dump skb). A datagram that still does
 * not fit is reported as -EMSGSIZE, never parsed truncated. */
#define NL_SOCK_RXBUF (64 * 1024)

/* nl_sock_open() : a NETLINK_ROUTE socket in the caller's namespace,
 * subscribed to the RTNLGRP_* groups given as a bit mask of
 * (1u << (group - 1)) (0 for none). NULL with errno set on failure. */
struct nl_sock *nl_sock_open(uint32_t groups);
/* nl_sock_wrap() : takes ownership of an already-open NETLINK_ROUTE
 * socket <fd> (e.g. created in another namespace) and sets it up as
 * nl_sock_open() does. On failure <fd> is closed and NULL returned. */
struct nl_sock *nl_sock_wrap(int fd, uint32_t groups);
/* nl_sock_close() : closes the socket; accepts NULL. */
void nl_sock_close(struct nl_sock *sk);
int nl_sock_fd(const struct nl_sock *sk);
/* nl_sock_set_nonblock() : for event sockets driven by an event loop. */
int nl_sock_set_nonblock(struct nl_sock *sk, int on);
/* nl_sock_set_rcvbuf() : kernel receive buffer for event sockets (bursts
 * of events overflow the default). Uses SO_RCVBUFFORCE when permitted. */
int nl_sock_set_rcvbuf(struct nl_sock *sk, int bytes);

/* nl_sock_request() : finishes <b>, sends it with NLM_F_ACK and waits for
 * the kernel's answer. Returns 0 or the kernel's negative errno; the
 * extended-ack text of a failure is kept for nl_sock_errmsg(). */
int nl_sock_request(struct nl_sock *sk, struct nlb *b);

/* Called for every message a dump or an event read produces. <m> and the
 * bytes it points to are valid during the call only. Return 0 to go on,
 * a negative errno to stop (a dump is still drained to its end). */
typedef int (*nl_msg_cb)(const struct nlmsg *m, void *arg);

/* nl_sock_dump() : sends <b> (a request with NLM_F_DUMP) and calls <cb>
 * for each message of the answer. Returns 0, the callback's error, a
 * kernel error, or -EINTR when the kernel marked the dump inconsistent
 * (NLM_F_DUMP_INTR: the table changed meanwhile; dump again). */
int nl_sock_dump(struct nl_sock *sk, struct nlb *b, nl_msg_cb cb, void *arg);

/* nl_sock_read_events() : reads what is pending on a (non-blocking)
 * subscribed socket, at most <max_dgrams> datagrams so a burst cannot
 * stall an event loop, and calls <cb> per message. Returns the number of
 * messages handled, -EAGAIN when nothing was pending, or -ENOBUFS when the
 * kernel dropped events because the receive buffer overflowed (counted in
 * nl_sock_overruns(); the caller must re-dump to resynchronise). */
int nl_sock_read_events(struct nl_sock *sk, unsigned max_dgrams, nl_msg_cb cb,
			void *arg);
uint64_t nl_sock_overruns(const struct nl_sock *sk);

/* nl_sock_errmsg() : the kernel's extended-ack message of the last failed
 * request or dump ("" when it gave none). Valid until the next call. */
const char *nl_sock_errmsg(const struct nl_sock *sk);

#endif
