package config

import "testing"

func TestLambdaPath(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{nil, "ststack.yaml"},
		{map[string]string{"LAMBDA_TASK_ROOT": "/var/task"}, "/var/task/ststack.yaml"},
		{map[string]string{"LAMBDA_TASK_ROOT": "/var/task", "STSTACK_CONFIG": "conf/org.yaml"}, "/var/task/conf/org.yaml"},
		{map[string]string{"LAMBDA_TASK_ROOT": "/var/task", "STSTACK_CONFIG": "/opt/org.yaml"}, "/opt/org.yaml"},
		{map[string]string{"STSTACK_CONFIG": "org.yaml"}, "org.yaml"},
	}
	for _, tt := range tests {
		getenv := func(k string) string { return tt.env[k] }
		if got := LambdaPath(getenv); got != tt.want {
			t.Errorf("LambdaPath(%v) = %q, want %q", tt.env, got, tt.want)
		}
	}
}
