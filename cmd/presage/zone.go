package main

import (
	"flag"
	"fmt"
	"time"

	"github.com/presage-dev/presage/metrics/file"
)

// zoneFlag is a -tz flag: the IANA time zone in which a CSV's timestamps
// without an offset are read (UTC by default).
type zoneFlag struct{ loc *time.Location }

func (z *zoneFlag) String() string {
	if z == nil || z.loc == nil {
		return "UTC"
	}
	return z.loc.String()
}

func (z *zoneFlag) Set(v string) error {
	loc, err := time.LoadLocation(v)
	if err != nil || v == "" || v == "Local" {
		return fmt.Errorf("unknown time zone %q: want an IANA name such as Europe/Paris, or UTC", v)
	}
	z.loc = loc
	return nil
}

// options returns the readers' options: timestamps without an offset in
// the zone.
func (z *zoneFlag) options() file.Options { return file.Options{Location: z.loc} }

// addZoneFlag adds -tz to fs; what names the files it applies to.
func addZoneFlag(fs *flag.FlagSet, what string) *zoneFlag {
	z := &zoneFlag{}
	fs.Var(z, "tz", "IANA time `zone` of the timestamps without an offset in "+what+
		" (a repeated local hour is read in row order, a missing one moves later by the gap); timestamps with an offset are read as written")
	return z
}
