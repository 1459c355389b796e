// Command echo is a Lambda function for the tests of package lambdatest: it
// answers an event with the event and part of its environment, and fails
// when the event asks it to.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

type reply struct {
	Event json.RawMessage   `json:"event"`
	Env   map[string]string `json:"env"`
}

func handle(_ context.Context, event json.RawMessage) (reply, error) {
	var e struct{ Fail string }
	if json.Unmarshal(event, &e) == nil && e.Fail != "" {
		return reply{}, errors.New(e.Fail)
	}
	env := map[string]string{}
	for _, k := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_LAMBDA_FUNCTION_NAME", "ECHO", "HOME"} {
		env[k] = os.Getenv(k)
	}
	return reply{Event: event, Env: env}, nil
}

func main() {
	lambda.Start(handle)
}
