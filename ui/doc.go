// Package ui serves presage's live page under /ui: an overview of every
// service (level, risk, time to breach, schedule windows, last decision)
// and a page per service (the load with its forecast band and the learned
// capacity of each action set, the latency against the threshold, the
// engaged actions and schedule windows, the risk, the decisions, and the
// planner's weighed sets).
//
// Pages render whole on the server, their charts inline SVG drawn by
// internal/chart (the replay report's code), so the DOM has every chart
// before any script runs; a small script embedded in the binary sorts the
// overview and refreshes a page by fetching it again and replacing its
// content, so a page left open does not grow. Every asset is embedded: no
// CDN, it works offline.
//
// The handler is read-only: it answers GET and HEAD only (405 otherwise),
// changes nothing presage does, and shows no configuration but names and
// thresholds, every message through config.RedactText. Opening a
// service's page asks the controller (Watch) to copy, for a few minutes,
// what only that page draws; nobody looking, a step pays nothing for it.
package ui
