// Package awssecret reads a secret from AWS Secrets Manager when a function starts, with
// the credentials and region Lambda gives the function (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION). Reading it at run time keeps the
// secret out of the packaged template and of the function's configuration, which a
// CloudFormation dynamic reference or a ${ssm:} variable would put it in.
package awssecret

import (
	"context"
	"errors"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/modeldao/modeldao"
)

// Get returns the SecretString of the secret id (a name or an ARN). Errors never carry the
// value.
func Get(ctx context.Context, getenv func(string) string, id string) (string, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	region := getenv("AWS_REGION")
	if region == "" {
		region = getenv("AWS_DEFAULT_REGION")
	}
	if region == "" {
		return "", modeldao.Errorf(modeldao.EINVALID, "cannot read secret %s: AWS_REGION is not set (Lambda sets it; elsewhere set it, or set the key itself)", id)
	}
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		c := aws.Credentials{AccessKeyID: getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: getenv("AWS_SECRET_ACCESS_KEY"), SessionToken: getenv("AWS_SESSION_TOKEN"), Source: "environment"}
		if c.AccessKeyID == "" || c.SecretAccessKey == "" {
			return c, errors.New("no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)")
		}
		return c, nil
	})
	sm := secretsmanager.New(secretsmanager.Options{Region: region, Credentials: creds})
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
	if err != nil {
		return "", modeldao.WrapError(modeldao.EUNAVAILABLE, err, "cannot read secret %s from Secrets Manager in %s (does the function's role allow secretsmanager:GetSecretValue on it?)", id, region)
	}
	if out.SecretString == nil || *out.SecretString == "" {
		return "", modeldao.Errorf(modeldao.EINVALID, "secret %s has no SecretString: store the key as plain text", id)
	}
	return *out.SecretString, nil
}
