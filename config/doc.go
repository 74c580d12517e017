// Package config is presage's YAML configuration: the schema, its defaults,
// strict decoding and validation.
//
// Load and LoadFile decode a configuration the Prometheus way. Decoding is
// strict (an unknown key or a value of the wrong type fails, with its line);
// durations are Prometheus durations ("30s", "5m", "7d") and never negative.
// Every section starts from its default value (DefaultConfig, DefaultService
// for each service, DefaultAction for each playbook action), so a field the
// file leaves out keeps its default and a field it sets keeps the file's
// value, zero included. SetDefaults then fills the defaults that depend on
// other fields (stale_after, forecast.signal, baseline, engaged, the webhook
// auth header), and Validate checks the result.
//
// Validate reports every problem at once: its error joins one *Error per
// problem (see Errors), each naming the YAML path of the field and, when the
// configuration came from Load, its file and line:
//
//	config.yaml:42: services[0].forecast.refit: invalid cron expression "@hourli": ...
//	config.yaml:57: services[1].playbook[0].max: -1 must be >= min (0)
//
// Resolve turns each service of a valid configuration into what the control
// loop runs (Resolved): durations counted in steps of global.interval, the
// refit cron and the schedules that apply parsed, the incident pattern and
// the settings of the policy.
//
// Each field's meaning, unit and default are documented on the types below
// and, for the file format, in config.example.yaml at the repository root,
// which the tests load so that it never goes stale.
package config
