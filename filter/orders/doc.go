// Package orders is the async order queue of the funnel (queue: {mode:
// async}): edge accepts viable orders as fast as shoppers send them and feeds
// the shop at the pace it can take. The shopper gets a ticket at once and
// learns the result from GET /_edge/orders/{ticket}.
//
// The pieces:
//
//   - Stage is the funnel stage "queue" of an async route: after the stock
//     gate it appends the order (the request as it would be forwarded, with
//     Idempotency-Key: <ticket>, the shopper, the item and the stock unit)
//     to the route's queue and answers 202 {"ticket", "status"}. A full
//     queue answers 503 queue_full and the unit goes back.
//   - A dispatcher per async route and node reads the queue, sends each
//     order to the shop (bounded concurrency in total and per item, an
//     optional rate), retries shop failures with backoff, then stores the
//     result, settles the stock unit (kept on 2xx, given back otherwise) and
//     acknowledges the order. Orders taken by a node that stopped answering
//     are taken over by the others once idle for claim_idle.
//   - Backend keeps the queues and the results: Redis (one stream per route
//     read by one consumer group, a hash per ticket; shared by the fleet,
//     survives edge restarts) or Memory (one node; queued orders and results
//     are lost when the process ends).
//   - Handler answers GET /_edge/orders/{ticket}[?wait=N]: pending, accepted
//     (with the shop's status and a bounded copy of its body) or rejected
//     (with the reason); only to the shopper who placed the order.
//   - Hub ties them together for one process: it outlives reloads, keeps
//     one dispatcher per async route and hands each new route table its
//     stages.
//
// A queued order keeps its stock unit reserved until it is decided. The
// Redis stock store remembers a taken unit for its op TTL (10 minutes by
// default): an order decided later leaves its unit counted as reserved
// (never sold twice) until an operator releases it, so size max_length and
// rate for a queue that drains well within that.
//
// Delivery is at least once: a node that dies after the shop answered but
// before the result was stored leaves the order to another node, which sends
// it again. The Idempotency-Key (the ticket) lets the shop answer the repeat
// with the first answer instead of selling twice; a shop behind edge's async
// queue must honour it.
package orders
