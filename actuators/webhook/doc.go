// Package webhook is the HTTP webhook actuator: it POSTs each Action as JSON
// to a receiver that applies it.
//
// The body is the Action's JSON plus an "idempotency_key", also sent as the
// Idempotency-Key header:
//
//	{"service":"checkout","action":"replicas","op":"engage","from":0,"to":2,
//	 "reason":"Escalate","risk":0.8,"at":"2026-01-05T10:00:00Z",
//	 "idempotency_key":"…"}
//
// The key is a stable hash of service, action, op, to and at (see
// IdempotencyKey), so every retry of one Action carries the same key and a
// receiver that drops a key it has already applied never applies an Action
// twice.
//
// A 2xx response is success. A 5xx response, a connection error or an
// attempt that outlives its timeout is retried, up to the configured number
// of retries, after an exponential backoff with full jitter; any other status
// is permanent and not retried (the error wraps ErrRejected), and so is a
// certificate the client does not trust. Redirects are not followed, so a
// credential never travels to a host it was not configured for.
//
// The credential (auth_file or auth_env) is read on every Apply, so a rotated
// secret takes effect without a restart; it never appears in a log line or
// an error.
package webhook
