package store

import (
	"time"
)

// HistoryRetention is how long check results are kept: the latest result
// of a domain is what checker.History needs; older ones are kept this long
// for the dashboard and then expire (DynamoDB TTL attribute "ttl"; the
// embedded store prunes on Save).
const HistoryRetention = 90 * 24 * time.Hour

// historyLayout is fixed-width so that keys sort as times do.
const historyLayout = "2006-01-02T15:04:05.000000000Z"

// HistoryKey is the sort key of a check result saved at t: the UTC time,
// fixed width, so keys sort in time order.
func HistoryKey(t time.Time) string {
	return t.UTC().Format(historyLayout)
}
