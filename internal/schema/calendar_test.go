package schema

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/nixgen/nixgen/internal/e2e"
)

// calendarCases records what systemd 252's `systemd-analyze calendar` says
// about each expression. outside marks forms that systemd accepts but that
// lie outside the subset nixgen supports (docs/spec-language.md); nixgen
// rejects those.
var calendarCases = []struct {
	expr    string
	systemd bool
	outside bool
}{
	// Shorthands, in any case, with an optional timezone.
	{"daily", true, false}, {"Daily", true, false}, {"HOURLY", true, false}, {"minutely", true, false},
	{"weekly", true, false}, {"monthly", true, false}, {"yearly", true, false}, {"annually", true, false},
	{"quarterly", true, false}, {"semiannually", true, false}, {"biweekly", false, false},
	{"daily UTC", true, false}, {"daily utc", true, false}, {"hourly Europe/Berlin", true, false},
	{"monthly Etc/GMT+2", true, false}, {"UTC", false, false}, {"Europe/Berlin", false, false},
	// Weekdays: lists, ranges with ".." or "-", any case, forward only.
	{"Wed", true, false}, {"mOnDaY", true, false}, {"Mon-Fri", true, false}, {"Mon..Fri", true, false},
	{"Mon-Fri 09:00", true, false}, {"Mon,Wed 10:00", true, false}, {"Sat..Sun 10:00", true, false},
	{"Mon..Wed,Fri..Sun", true, false}, {"Mon,", true, false}, {"Mon..Mon", true, false},
	{"Fri..Mon", false, false}, {"Tue-Mon", false, false}, {"Mon..Fri..Sun", false, false},
	{"Mon..", false, false}, {"Mon,,Tue", false, false}, {"Mond", false, false}, {"Fryday 10:00", false, false},
	{"Mon Tue", false, false}, {"Mon.Tue", false, false}, {"10:00 Mon", false, false},
	{"Mon UTC", true, false}, {"Mon..Fri *-*-* 02:00:00 UTC", true, false},
	// Dates: two-digit years, "~" from the end of the month, lists, ranges, repetitions.
	{"*-*-*", true, false}, {"*-*", true, false}, {"2026-01-01", true, false}, {"2026-1-1", true, false},
	{"26-01-01", true, false}, {"70-01-01", true, false}, {"100-01-01", false, false},
	{"1969-01-01", false, false}, {"2199-12-31 23:59:59", true, false}, {"2200-01-01", false, false},
	{"2026..2028-01-01", true, false}, {"2028..2026-01-01", false, false}, {"2026/2-01-01", true, false},
	{"2026-02-30", true, false}, {"12-24 18:00", true, false}, {"*-01,04,07,10-01 00:00", true, false},
	{"*-*-1/2", true, false}, {"*-*-1/30", true, false}, {"*-*-2/30", false, false}, {"*-*-31/1", false, false},
	{"*-*-32", false, false}, {"*-13-01", false, false}, {"*-00-01", false, false}, {"*-*-00", false, false},
	{"*-02~03 00:00", true, false}, {"*-*~1", true, false}, {"*~1", true, false}, {"*-*~28", true, false},
	{"*-*~29", false, false}, {"*-*~1..5", true, false}, {"*-*~5..1", false, false}, {"*-*~7/6", true, false},
	{"*-*~7/7", false, false}, {"2026~01-01", false, false}, {"*-*-*-*", false, false}, {"*--*", false, false},
	{"*", false, false}, {"*/2", false, false}, {"2026-01-01T10:00", false, false},
	// Times: lists, ranges, repetitions, fractional seconds.
	{"03:00", true, false}, {"3:0", true, false}, {"*:*", true, false}, {"*:0/15", true, false},
	{"*:00/15", true, false}, {"0/2:00", true, false}, {"0/23:00", true, false}, {"1/23:00", false, false},
	{"0/30:00", false, false}, {"*/2:00", false, false}, {"*:0/0", false, false}, {"*:30/29", true, false},
	{"*:30/30", false, false}, {"*:59/1", false, false}, {"*:1..5/10", true, false}, {"*:1..5/59", true, false},
	{"*:1..5/60", true, false}, {"*-*-* 1..5/2:00", true, false}, {"*-*-* 5..1:00", false, false},
	{"*:5,10..20/5,30", true, false}, {"02,14:00", true, false}, {"*-*-* 1,,3:00", false, false},
	{"*-*-* ,3:00", false, false}, {"24:00", false, false}, {"23:60", false, false}, {"1:2:3:4", false, false},
	{"*-*-* 03:00:00.5", true, false}, {"*:*:59.999999", true, false}, {"*:*:59.9999999", false, false},
	{"*:*:0/0.5", true, false}, {"*:*:1..3", true, false}, {"*:*:1..1.5", false, false},
	{"*:*:1.5..3", true, false}, {"*:*:*", true, false}, {"*:*:*/2", false, false}, {"*:*:60", false, false},
	{"*:*:0/60", false, false}, {"*:*:5.", false, false}, {"*:*:.5", false, false}, {"*:*:1..3000/5000", false, false},
	// Timezones: "UTC" in any case, otherwise IANA names exactly.
	{"*-*-* 02:00 Europe/Berlin", true, false}, {"*-*-* 02:00 America/Argentina/Buenos_Aires", true, false},
	{"*-*-* 02:00 Etc/UTC", true, false}, {"*-*-* 02:00 europe/Berlin", false, false},
	{"*-*-* 02:00 Nowhere/City", false, false}, {"*-*-* 02:00 Local", false, false},
	{"*-*-* 02:00 +02:00", false, false}, {"*-*-* 03:00 nowhere", false, false}, {"*-*-* 02:00 UTC UTC", false, false},
	{"Mon 2026-01-01 10:00 UTC", true, false},
	// Timestamps.
	{"@0", true, false}, {"@1700000000", true, false}, {"@1700000000 Europe/Berlin", true, false},
	{"@7258118399", true, false}, {"@7258118400", false, false}, {"@-1", false, false}, {"@1.5", false, false},
	{"@1700000000 10:00", false, false},
	// Junk.
	{"", false, false}, {"every day", false, false}, {"now", false, false}, {"rm -rf /", false, false},
	{"$(reboot)", false, false},
	// Accepted by systemd, outside nixgen's subset.
	{"Mon  10:00", true, true}, {"Mon ", true, true}, {"2026-01-01 ", true, true},
	{"Mon @1700000000", true, true}, {"@ 1", true, true}, {"*:*:0.0000001", true, true},
}

func TestCalendarAgreesWithSystemd(t *testing.T) {
	for _, c := range calendarCases {
		msg := calendarError(c.expr)
		want := c.systemd && !c.outside
		if got := msg == ""; got != want {
			t.Errorf("calendarError(%q) = %q; want accepted=%v (systemd accepts: %v)", c.expr, msg, want, c.systemd)
		}
	}
	if testing.Short() {
		return
	}
	sa := e2e.Tool(t, "systemd-analyze")
	for _, c := range calendarCases {
		if c.expr == "" {
			continue // systemd-analyze calendar "" is a usage error, not a verdict
		}
		cmd := exec.Command(sa, "calendar", c.expr)
		// The local timezone's abbreviations also count as timezones to systemd.
		cmd.Env = append(os.Environ(), "TZ=UTC")
		err := cmd.Run()
		if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
			t.Fatalf("systemd-analyze: %v", err)
		}
		if got := err == nil; got != c.systemd {
			t.Errorf("systemd-analyze calendar %q accepts: %v; the table says %v", c.expr, got, c.systemd)
		}
	}
}

// TestCalendarMessages checks that a rejection names the part at fault.
func TestCalendarMessages(t *testing.T) {
	for expr, want := range map[string]string{
		"every day":                    `"every" is neither a shorthand`,
		"Fri..Mon":                     `"Fri..Mon" must run forward`,
		"Mon..Fryday 02:00":            `"Fryday" is not a weekday`,
		"*-13-01":                      `outside the month range 1..12`,
		"*-*~29":                       `outside the day range 1..28`,
		"*:30/30":                      `repetition must fit`,
		"*/2:00":                       `"*/2" is not a valid hour`,
		"*-*-* 02:00 Nowhere/City":     `"Nowhere/City" cannot follow the time`,
		"Mon @1700000000":              `timestamp "@1700000000" can only stand alone`,
		"@1700000000 10:00":            `timestamp "@1700000000" can only stand alone`,
		"@7258118400":                  `up to 7258118399`,
		"Mon  10:00":                   `single spaces`,
		"*:*:1..1.5":                   `at least one second`,
		"*-*-* 1,,3:00":                `"" is not a valid hour`,
		"2026~01-01":                   `"~" can only stand before the day`,
		"*-*-* 03:00:00.1234567":       `is not a valid second`,
		"*-*-* 02:00 Europe/Berlin 1":  `"Europe/Berlin 1" cannot follow the time`,
		"Mon 2026-01-01 10:00 UTC UTC": `"UTC" cannot follow the time`,
	} {
		if msg := calendarError(expr); !strings.Contains(msg, want) {
			t.Errorf("calendarError(%q) = %q; want it to contain %q", expr, msg, want)
		}
	}
}
