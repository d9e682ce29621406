// Package quiz is the question a shopper answers before an order: it stops
// simple bots and spreads the peak of order writes from one second over
// several, while costing edge a hash and a map lookup per check.
//
// # Flow
//
// Before the sale the Service makes a bank of quiz_bank.size questions
// (sums, differences, products, the next number of a sequence, a sum with a
// number written in English, five characters to type), each drawn once as
// a small PNG with interference: Go fonts mixed per glyph, random size,
// rotation, shear, colour and baseline, a sine-wave warp over everything,
// wavy lines through and behind the text, and speckles. Images are served
// from memory (GET /_edge/quiz/img/{id}.png, cacheable for a year).
//
// A page asks GET /_edge/quiz?item=ID for the signed-in shopper and gets a
// token, the image URL and the expiry. The order then carries the token and
// the answer (X-Quiz-Token/X-Quiz-Answer or quiz_token/quiz_answer); the
// route's Stage checks them (see Stage for every refusal).
//
// # Tokens
//
// A token binds shopper, item, question and issue time with HMAC-SHA256
// under quiz_bank.secret (see token.go for the layout); checking needs no
// stored state, and the answer is never in it. During a rotation set the
// new secret and move the old one to previous_secret: tokens signed with
// either are accepted, new ones are signed with the new secret. A token is
// good for one right answer: used tokens are remembered until their max_age
// has passed (in memory, or with Redis SET NX across the fleet), and wrong
// answers count against `attempts` per shopper and item.
//
// # Banks in a fleet
//
// With Redis every node uses one bank: the first node to start offers its
// bank, the others load it, and all of them poll every 2 seconds for a
// newer one (an operator's PUT /quiz/bank, or a scheduled regeneration,
// which one node does for the fleet). Without Redis, push one bank to every
// node through the admin API before the sale (GET /quiz/bank from one, PUT
// to the others), or let each keep its own: tokens are then only good on
// the node that issued them unless the secret and bank are the same.
// After a change the previous bank stays valid, so questions handed out
// just before it can still be answered.
//
// # Limits
//
// A bank is a finite set: a determined attacker can have every one of its
// images answered once (by people, or by a model trained on this style) and
// then answer from a lookup table. That is inherent to a pre-rendered bank.
// What keeps it costly: image ids are random per bank and reveal nothing
// about the question, banks can be regenerated on a schedule
// (quiz_bank.regenerate) or replaced just before a sale, a larger bank costs
// more to label, and min_think, max_age, attempts and the rate limits still
// bound what a labelled bank buys. The quiz raises the cost of automation
// and spreads the peak; it is not a proof of humanity.
//
// # Redis failures
//
// When Redis fails during a check, the check fails closed (503
// {"error":"unavailable"}, Retry-After 1) whatever redis.on_error says: a
// bot must not pass because Redis is down. Banks already loaded keep
// serving; a failed bank sync is retried on the next poll.
package quiz
