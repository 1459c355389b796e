package awsstore

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// skDelegation is the sort key of a delegated client domain's reconciler
// state: item pk DOMAIN#<domain>, sk DELEGATION, attribute state (what
// package reconcile encodes, JSON), overwritten by each run. It sorts
// outside the FACT#, CHECK#, CONFLICT# and SUM# ranges the other reads
// query.
const skDelegation = "DELEGATION"

// maxDelegationState bounds a state written (a few hundred bytes in
// practice; DynamoDB items stop at 400 KB).
const maxDelegationState = 16 << 10

// DelegationState returns the reconciler state saved for domain, ok false
// when there is none (reconcile.JSONStates decodes it).
func (s *Store) DelegationState(ctx context.Context, domain string) ([]byte, bool, error) {
	out, err := s.ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      &s.table,
		Key:            map[string]types.AttributeValue{"pk": str(pkDomain + domain), "sk": str(skDelegation)},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, false, fmt.Errorf("awsstore: delegation state of %s: %w", domain, err)
	}
	v, ok := out.Item["state"].(*types.AttributeValueMemberS)
	if !ok {
		return nil, false, nil
	}
	return []byte(v.Value), true, nil
}

// PutDelegationState saves state as domain's reconciler state.
func (s *Store) PutDelegationState(ctx context.Context, domain string, state []byte) error {
	if len(state) > maxDelegationState {
		return fmt.Errorf("awsstore: delegation state of %s: %d bytes, more than %d", domain, len(state), maxDelegationState)
	}
	_, err := s.ddb.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.table,
		Item: map[string]types.AttributeValue{
			"pk": str(pkDomain + domain), "sk": str(skDelegation), "state": str(string(state)),
		},
	})
	if err != nil {
		return fmt.Errorf("awsstore: save delegation state of %s: %w", domain, err)
	}
	return nil
}
