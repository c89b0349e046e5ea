package schema

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// calendarShorthands are systemd's named OnCalendar expressions.
var calendarShorthands = []string{"minutely", "hourly", "daily", "monthly", "weekly", "yearly", "annually", "quarterly", "semiannually"}

var weekdays = map[string]bool{
	"mon": true, "tue": true, "wed": true, "thu": true, "fri": true, "sat": true, "sun": true,
	"monday": true, "tuesday": true, "wednesday": true, "thursday": true, "friday": true, "saturday": true, "sunday": true,
}

// calendarError returns why s is not a systemd OnCalendar expression, or "".
// It checks the shape systemd.time(7) describes — "[WEEKDAYS] [DATE] [TIME]
// [TIMEZONE]" with "*", lists, ranges ("..") and repetitions ("/") — and the
// ranges of each field; it cannot catch every date that never occurs.
func calendarError(s string) string {
	if strings.TrimSpace(s) == "" {
		return "the expression is empty"
	}
	for _, sh := range calendarShorthands {
		if s == sh {
			return ""
		}
	}
	fields := strings.Fields(s)
	i := 0
	if isWeekdaySpec(fields[i]) {
		i++
	}
	weekday := i > 0
	sawDateOrTime := false
	if i < len(fields) && !strings.Contains(fields[i], ":") && strings.ContainsAny(fields[i], "-~") {
		if msg := dateError(fields[i]); msg != "" {
			return msg
		}
		sawDateOrTime = true
		i++
	}
	if i < len(fields) && strings.Contains(fields[i], ":") {
		if msg := timeError(fields[i]); msg != "" {
			return msg
		}
		sawDateOrTime = true
		i++
	}
	if i < len(fields) && (sawDateOrTime || weekday) && isTimezone(fields[i]) {
		i++
	}
	if i != len(fields) {
		return fmt.Sprintf("%q is not a weekday, date (YYYY-MM-DD), time (HH:MM[:SS]) or timezone in this position", fields[i])
	}
	return ""
}

func isWeekdaySpec(f string) bool {
	for _, item := range strings.Split(f, ",") {
		a, b, isRange := strings.Cut(item, "..")
		if !weekdays[strings.ToLower(a)] {
			return false
		}
		if isRange && !weekdays[strings.ToLower(b)] {
			return false
		}
	}
	return true
}

var tzRe = regexp.MustCompile(`^(UTC|GMT|[A-Z][A-Za-z_+-]*(/[A-Za-z0-9_+-]+)+)$`)

func isTimezone(f string) bool { return tzRe.MatchString(f) }

func dateError(f string) string {
	parts := strings.Split(f, "-")
	// "~" counts days from the end of the month: "*-02~03".
	if m, d, ok := strings.Cut(parts[len(parts)-1], "~"); ok {
		parts = append(parts[:len(parts)-1], m, d)
	}
	switch len(parts) {
	case 2:
		parts = append([]string{"*"}, parts...)
	case 3:
	default:
		return fmt.Sprintf("the date %q must be YYYY-MM-DD or MM-DD", f)
	}
	if msg := valueError(parts[0], "year", 1970, 2199); msg != "" {
		return msg
	}
	if msg := valueError(parts[1], "month", 1, 12); msg != "" {
		return msg
	}
	return valueError(parts[2], "day", 1, 31)
}

func timeError(f string) string {
	parts := strings.Split(f, ":")
	if len(parts) != 2 && len(parts) != 3 {
		return fmt.Sprintf("the time %q must be HH:MM or HH:MM:SS", f)
	}
	if msg := valueError(parts[0], "hour", 0, 23); msg != "" {
		return msg
	}
	if msg := valueError(parts[1], "minute", 0, 59); msg != "" {
		return msg
	}
	if len(parts) == 3 {
		sec, _, _ := strings.Cut(parts[2], ".") // fractional seconds are allowed
		if parts[2] == "*" {
			return ""
		}
		return valueError(sec, "second", 0, 59)
	}
	return ""
}

// valueError checks one calendar field: "*", or a comma list of values,
// ranges "a..b" and repetitions "v/n".
func valueError(f, what string, lo, hi int) string {
	for _, item := range strings.Split(f, ",") {
		base, rep, hasRep := strings.Cut(item, "/")
		if hasRep {
			n, err := strconv.Atoi(rep)
			if err != nil || n <= 0 {
				return fmt.Sprintf("the repetition %q in the %s field must be a positive number", rep, what)
			}
		}
		if base == "*" {
			continue
		}
		a, b, isRange := strings.Cut(base, "..")
		for _, v := range []string{a, b} {
			if v == b && !isRange {
				continue
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				return fmt.Sprintf("%q is not a valid %s (%d-%d or \"*\")", v, what, lo, hi)
			}
		}
	}
	return ""
}

var durationPartRe = regexp.MustCompile(`^\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zµ]+)`)

var durationUnits = map[string]time.Duration{
	"ns": time.Nanosecond, "us": time.Microsecond, "µs": time.Microsecond, "usec": time.Microsecond,
	"ms": time.Millisecond, "msec": time.Millisecond,
	"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"w": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
}

// parseDuration accepts Go durations ("1h30m") and systemd time spans
// ("1h 30min", "2d"); every part needs a unit, and the total must be positive.
func parseDuration(s string) (time.Duration, error) {
	rest := strings.TrimSpace(s)
	if rest == "" {
		return 0, fmt.Errorf("the duration is empty")
	}
	var total time.Duration
	for rest != "" {
		m := durationPartRe.FindStringSubmatch(rest)
		if m == nil {
			return 0, fmt.Errorf("%q is not a duration such as \"30m\", \"1h30m\" or \"2h 15min\"", s)
		}
		unit, ok := durationUnits[m[2]]
		if !ok {
			return 0, fmt.Errorf("%q has the unknown unit %q (use s, m/min, h, d or w)", s, m[2])
		}
		n, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration", s)
		}
		part := time.Duration(n * float64(unit))
		if n > float64(1<<62)/float64(unit) {
			return 0, fmt.Errorf("%q is too long", s)
		}
		total += part
		rest = strings.TrimSpace(rest[len(m[0]):])
	}
	if total <= 0 {
		return 0, fmt.Errorf("%q must be longer than zero", s)
	}
	return total, nil
}
