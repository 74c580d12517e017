// Package schedule evaluates calendar windows: when a prewarm, a change
// freeze or a known event is on. A Schedule is a start (a cron expression,
// or one date-time) and a duration, in a time zone; Active, Next and
// Windows answer for a time given by the caller, so the controller asks
// with the step's now and a replay honours schedules in virtual time.
//
// The package does no I/O of its own and knows nothing of the
// configuration's YAML; package config decodes and validates schedules and
// builds them with Parse.
//
// # Wall-clock rule
//
// Cron fields and one-off date-times without an offset are wall-clock
// times in the schedule's time zone. A wall-clock start is resolved to an
// instant the way java.time resolves a local date-time:
//
//   - in a daylight-saving gap (a wall-clock time that does not exist,
//     02:30 on the night New York moves from 02:00 to 03:00) the start is
//     moved later by the length of the gap: 02:30 becomes 03:30 local;
//   - in an overlap (a wall-clock time that happens twice, 01:30 on the
//     night New York goes back from 02:00 to 01:00) the start is the
//     earlier of the two instants, once: a daily 01:30 window opens at
//     01:30 EDT and not again an hour later.
//
// So a daily schedule has exactly one window every local day, including
// the days of the change. (robfig/cron, which parses the expressions,
// would skip a start that falls in a gap; this package does not.)
// Durations are elapsed time: a 3h window that opens at 00:30 on the night
// of the spring change closes at 04:30 local.
package schedule
