package lambdaenv

import (
	"strings"
	"testing"
)

func TestFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{"LAMBDA_TASK_ROOT": "/var/task"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	yes, no := true, false
	tests := []struct {
		name      string
		getenv    func(string) string
		required  []string
		want      Env
		wantError string
	}{
		{"defaults", env(), nil, Env{ConfigPath: "/var/task/ststack.yaml"}, ""},
		{"all", env(Config, "/opt/org.yaml", Bucket, "b", Table, "t", MailBucket, "m", MailPrefix, "inbox/",
			TopicARN, "arn", RUAHTTPS, "https://r", Resolver, "127.0.0.1:53", DropUnsigned, "1", SMTPProbe, "false"),
			[]string{Bucket, Table, TopicARN},
			Env{ConfigPath: "/opt/org.yaml", Bucket: "b", Table: "t", MailBucket: "m", MailPrefix: "inbox/",
				TopicARN: "arn", RUAHTTPS: "https://r", Resolver: "127.0.0.1:53", DropUnsigned: &yes, SMTPProbe: &no}, ""},
		{"one missing", env(Bucket, "b"), []string{Bucket, Table}, Env{}, "STSTACK_TABLE must be set"},
		{"two missing", env(), []string{Bucket, Table}, Env{}, "STSTACK_BUCKET and STSTACK_TABLE must be set"},
		{"three missing", env(), []string{Bucket, Table, TopicARN}, Env{}, "STSTACK_BUCKET, STSTACK_TABLE and STSTACK_TOPIC_ARN must be set"},
		{"bad bool", env(SMTPProbe, "yes please"), nil, Env{}, `STSTACK_SMTP_PROBE="yes please": want true or false`},
		{"bad drop", env(DropUnsigned, "yes"), nil, Env{}, `STSTACK_DROP_UNSIGNED="yes"`},
	}
	for _, tc := range tests {
		got, err := FromEnv(tc.getenv, tc.required...)
		if tc.wantError != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantError) {
				t.Errorf("%s: err %v, want %q", tc.name, err, tc.wantError)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got.ConfigPath != tc.want.ConfigPath || got.Bucket != tc.want.Bucket || got.Table != tc.want.Table ||
			got.MailBucket != tc.want.MailBucket || got.MailPrefix != tc.want.MailPrefix || got.TopicARN != tc.want.TopicARN ||
			got.RUAHTTPS != tc.want.RUAHTTPS || got.Resolver != tc.want.Resolver ||
			!sameBool(got.DropUnsigned, tc.want.DropUnsigned) || !sameBool(got.SMTPProbe, tc.want.SMTPProbe) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func sameBool(a, b *bool) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
