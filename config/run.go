package config

import (
	"fmt"
)

// RunProblems returns what `presage run` cannot do with a configuration
// that Validate accepts, one *Error per problem with its YAML path, or nil.
// The other commands take such a configuration: recommend records what it
// cannot apply, replay and sim serve simulate it. RunError gives each its
// file and line, and `presage check` reports them.
//
// The one rule: an action of kind sim turns a knob of the built-in
// simulator, which only source kind sim runs.
func (c *Config) RunProblems() []*Error {
	if c.Source.Kind == SourceSim {
		return nil
	}
	var out []*Error
	for i, s := range c.Services {
		for j, a := range s.Playbook {
			if a.Actuator.Kind != ActuatorSim {
				continue
			}
			out = append(out, &Error{
				Path: fmt.Sprintf("services[%d].playbook[%d].actuator.kind", i, j),
				Msg: fmt.Sprintf("presage run cannot apply %s: it needs source kind sim; with source kind %s use a webhook (to `presage sim serve`'s /actions for a simulated service)",
					a.Actuator.Kind, c.Source.Kind),
			})
		}
	}
	return out
}

// RunError joins RunProblems, with the file and lines Load found, into one
// error; nil when `presage run` can run the configuration.
func (c *Config) RunError() error {
	problems := c.RunProblems()
	if len(problems) == 0 {
		return nil
	}
	return joinErrors(c.locate(problems))
}
