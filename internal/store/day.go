package store

import (
	"fmt"
	"time"
)

// dayLayout is the form of a Day: ISO 8601 calendar date.
const dayLayout = "2006-01-02"

// Day is a calendar day in UTC, written "2006-01-02". Days sort as strings
// in calendar order (years 0000–9999), which both stores rely on for their
// key ranges.
type Day string

// DayOf returns the UTC day holding t.
func DayOf(t time.Time) Day {
	return Day(t.UTC().Format(dayLayout))
}

// ParseDay parses a "2006-01-02" day.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(dayLayout, s)
	if err != nil {
		return "", fmt.Errorf("day %q: want YYYY-MM-DD", s)
	}
	if t.Year() < 1 || t.Year() > 9999 {
		return "", fmt.Errorf("day %q: year out of range", s)
	}
	return DayOf(t), nil
}

// Time returns the start of the day, midnight UTC; the zero time for an
// invalid Day.
func (d Day) Time() time.Time {
	t, err := time.Parse(dayLayout, string(d))
	if err != nil {
		return time.Time{}
	}
	return t
}

// AddDays returns the day n days after d (before, for negative n).
func (d Day) AddDays(n int) Day {
	return DayOf(d.Time().AddDate(0, 0, n))
}

// Valid reports whether d is a well-formed day.
func (d Day) Valid() bool {
	_, err := ParseDay(string(d))
	return err == nil && len(d) == len(dayLayout)
}

func (d Day) String() string { return string(d) }
