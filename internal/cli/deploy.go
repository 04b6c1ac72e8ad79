package cli

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/ethclient"

	"github.com/modeldao/modeldao"
	"github.com/modeldao/modeldao/config"
	"github.com/modeldao/modeldao/contracts"
)

func init() {
	register(&command{name: "deploy", summary: "deploy a new DAO (token, timelock, governor, registry) to any chain",
		detail: `Deploys the ModelDAO contracts from the sending account to the node at --rpc and wires
them: the governor is the timelock's proposer and canceller, anyone may execute a ready
operation, the deployer renounces the timelock's admin role, the registry answers to the
timelock, and the token's ownership goes to the timelock (--token-owner).

The initial distribution is a CSV file of address,amount lines (a header line
"address,amount", blank lines and lines starting with # are skipped). Amounts are whole
tokens (18 decimals; "1.5" is allowed) or, with --units base, base units (integers).
It is minted in batches of --batch transactions.

The contracts' addresses follow from the deployer's nonce; --dry-run prints them, the
transactions and the gas and cost estimate, and sends nothing. Every transaction is
written to the progress file (--progress) before it is sent: run the same command again
after an interruption and it resumes instead of deploying twice. After --confirmations
blocks it reads back on chain what it promised, then writes the deployment file that
DEPLOYMENT_FILE (and --deployment) read, with the block to index from and its hash.`,
		setup: setupDeploy})
}

// addressesFlag collects repeated or comma-separated addresses.
type addressesFlag []common.Address

func (a *addressesFlag) String() string {
	var s []string
	for _, x := range *a {
		s = append(s, x.Hex())
	}
	return strings.Join(s, ",")
}

func (a *addressesFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if !common.IsHexAddress(strings.TrimSpace(p)) {
			return fmt.Errorf("%q is not an address", p)
		}
		*a = append(*a, common.HexToAddress(strings.TrimSpace(p)))
	}
	return nil
}

// deployResult is what deploy prints.
type deployResult struct {
	DryRun         bool             `json:"dryRun"`
	ChainID        uint64           `json:"chainId"`
	Deployer       common.Address   `json:"deployer"`
	Nonce          uint64           `json:"nonce"`
	Token          common.Address   `json:"token"`
	Timelock       common.Address   `json:"timelock"`
	Governor       common.Address   `json:"governor"`
	Registry       common.Address   `json:"registry"`
	Steps          []deployStepView `json:"steps"`
	Resumed        int              `json:"resumed"`  // steps an earlier run sent
	Gas            uint64           `json:"gas"`      // estimated gas of the steps still to send
	GasPrice       string           `json:"gasPrice"` // wei
	Cost           string           `json:"cost"`     // wei: Gas × GasPrice
	Reserve        string           `json:"reserve"`  // wei the node wants available: the gas limits × the most a transaction may pay per gas
	Balance        string           `json:"balance"`  // wei
	Block          uint64           `json:"startBlock,omitempty"`
	BlockHash      *common.Hash     `json:"startBlockHash,omitempty"`
	DeploymentFile string           `json:"deploymentFile,omitempty"`
}

type deployStepView struct {
	Name     string          `json:"name"`
	Nonce    uint64          `json:"nonce"`
	Contract *common.Address `json:"contract,omitempty"`
	Gas      uint64          `json:"gas"`
	Sent     bool            `json:"sent"` // by an earlier run
}

func (d *deployResult) text(w io.Writer) {
	if d.DryRun {
		fmt.Fprintf(w, "Dry run: nothing was sent. The deployment from %s on chain %d would be:\n", d.Deployer.Hex(), d.ChainID)
	} else {
		fmt.Fprintf(w, "Deployed on chain %d from %s (block %d, %s):\n", d.ChainID, d.Deployer.Hex(), d.Block, d.BlockHash.Hex())
	}
	fmt.Fprintf(w, "  token     %s\n  timelock  %s\n  governor  %s\n  registry  %s\n", d.Token.Hex(), d.Timelock.Hex(), d.Governor.Hex(), d.Registry.Hex())
	if d.DryRun {
		fmt.Fprintf(w, "Transactions (nonces %d to %d):\n", d.Nonce, d.Nonce+uint64(len(d.Steps))-1)
		for _, s := range d.Steps {
			mark := ""
			if s.Sent {
				mark = " (sent by an earlier run)"
			}
			fmt.Fprintf(w, "  %4d  %-9d gas  %s%s\n", s.Nonce, s.Gas, s.Name, mark)
		}
		fmt.Fprintf(w, "Estimate: %d gas at %s gwei = %s ETH (the node wants %s ETH available; the account has %s ETH)\n",
			d.Gas, formatUnits(d.GasPrice, 9), formatUnits(d.Cost, 18), formatUnits(d.Reserve, 18), formatUnits(d.Balance, 18))
		return
	}
	if d.Resumed > 0 {
		fmt.Fprintf(w, "Resumed: %d of %d transactions were sent by an earlier run.\n", d.Resumed, len(d.Steps))
	}
	fmt.Fprintf(w, "Checked on chain. Deployment file: %s\nNext: DEPLOYMENT_FILE=%s modeldao index\n", d.DeploymentFile, d.DeploymentFile)
}

// gasPrices returns the price a deployment transaction is expected to pay per gas and the
// most it may pay: on a chain with a base fee, go-ethereum's transactors offer twice the
// base fee plus the tip, and a node accepts a transaction only when the balance covers its
// gas limit at that cap.
func gasPrices(ctx context.Context, eth *ethclient.Client) (price, capPrice *big.Int, err error) {
	head, err := eth.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	if head.BaseFee == nil {
		p, err := eth.SuggestGasPrice(ctx)
		return p, p, err
	}
	tip, err := eth.SuggestGasTipCap(ctx)
	if err != nil {
		return nil, nil, err
	}
	price = new(big.Int).Add(head.BaseFee, tip)
	capPrice = new(big.Int).Add(new(big.Int).Mul(head.BaseFee, big.NewInt(2)), tip)
	return price, capPrice, nil
}

// formatUnits writes a decimal count of base units with decimals digits as a decimal.
func formatUnits(s string, decimals int) string {
	x, ok := new(big.Int).SetString(s, 10)
	if !ok {
		return s
	}
	unit := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil)
	q, r := new(big.Int).QuoRem(x, unit, new(big.Int))
	if r.Sign() == 0 {
		return q.String()
	}
	frac := strings.TrimRight(fmt.Sprintf("%0*s", decimals, r.String()), "0")
	return q.String() + "." + frac
}

// parseAmount reads an amount: whole tokens with up to 18 decimals ("1.5"), or base units
// (an integer) when base is set.
func parseAmount(s string, base bool) (*big.Int, error) {
	s = strings.TrimSpace(s)
	whole, frac, hasFrac := strings.Cut(s, ".")
	digits := func(x string) bool {
		for _, c := range x {
			if c < '0' || c > '9' {
				return false
			}
		}
		return x != ""
	}
	switch {
	case base && (hasFrac || !digits(whole)):
		return nil, fmt.Errorf("amount %q is not a whole number of base units", s)
	case !base && (!digits(whole) || hasFrac && !digits(frac)):
		return nil, fmt.Errorf("amount %q is not a number of tokens (digits, optionally a point and up to 18 decimals)", s)
	case len(frac) > 18:
		return nil, fmt.Errorf("amount %q has more than 18 decimals", s)
	}
	x, _ := new(big.Int).SetString(whole+frac, 10)
	if !base {
		x.Mul(x, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(18-len(frac))), nil))
	}
	if x.BitLen() > 256 {
		return nil, fmt.Errorf("amount %q is above 2^256", s)
	}
	return x, nil
}

// readDistribution reads the CSV of address,amount lines, with the line of every problem.
func readDistribution(path string, base bool) ([]contracts.Allocation, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, usagef("--distribution: %v", err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var out []contracts.Allocation
	seen := map[common.Address]int{}
	for rec := 0; ; rec++ {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, usagef("%s line %d: %v", path, pe.StartLine, pe.Err)
		}
		if err != nil {
			return nil, usagef("%s: %v", path, err)
		}
		line, _ := cr.FieldPos(0)
		if rec == 0 && len(fields) == 2 && strings.EqualFold(strings.TrimSpace(fields[0]), "address") {
			continue // the header
		}
		if len(fields) != 2 {
			return nil, usagef("%s line %d: want address,amount, got %d fields", path, line, len(fields))
		}
		a := strings.TrimSpace(fields[0])
		if !common.IsHexAddress(a) {
			return nil, usagef("%s line %d: %q is not an address (0x followed by 40 hex digits)", path, line, a)
		}
		to := common.HexToAddress(a)
		if to == (common.Address{}) {
			return nil, usagef("%s line %d: tokens cannot be minted to the zero address", path, line)
		}
		if first, dup := seen[to]; dup {
			return nil, usagef("%s line %d: %s is listed already on line %d", path, line, to.Hex(), first)
		}
		seen[to] = line
		amt, err := parseAmount(fields[1], base)
		if err != nil {
			return nil, usagef("%s line %d: %v", path, line, err)
		}
		if amt.Sign() == 0 {
			return nil, usagef("%s line %d: the amount is zero", path, line)
		}
		out = append(out, contracts.Allocation{To: to, Amount: amt})
	}
	if len(out) == 0 {
		return nil, usagef("%s lists no address,amount lines", path)
	}
	return out, nil
}

func setupDeploy(r *runner, fs *flag.FlagSet) func(context.Context, []string) error {
	r.rpcFlag(fs)
	r.keyFlags(fs)
	r.jsonFlag(fs)
	out := fs.String("out", r.envOr(config.EnvDeploymentFile, "deployment.json"), "deployment file to write (env "+config.EnvDeploymentFile+")")
	progress := fs.String("progress", "", "progress file of the transactions sent, to resume from (default: the --out file with .progress.json in place of .json)")
	name := fs.String("name", "ModelDAO", "token name")
	symbol := fs.String("symbol", "MDAO", "token symbol")
	dist := fs.String("distribution", "", "CSV file of address,amount: the initial token distribution")
	units := fs.String("units", "tokens", "units of the distribution's amounts: tokens (18 decimals) or base")
	votingDelay := fs.Uint64("voting-delay", 7200, "blocks between a proposal and the start of its voting (7200: a day of 12 s blocks)")
	votingPeriod := fs.Uint64("voting-period", 50400, "blocks of voting (50400: a week of 12 s blocks)")
	threshold := fs.String("proposal-threshold", "0", "votes needed to propose, in whole tokens")
	quorum := fs.Uint64("quorum", 4, "quorum, in percent of the total supply at a proposal's snapshot")
	timelockDelay := fs.Duration("timelock-delay", 48*time.Hour, "delay between queueing and executing a proposal (whole seconds)")
	tokenOwner := fs.String("token-owner", string(contracts.TokenOwnerTimelock), "who may mint afterwards: timelock (the DAO, by proposal), renounce (nobody: a fixed supply) or deployer")
	var cancellers addressesFlag
	fs.Var(&cancellers, "canceller", "also give this address (a guardian) the timelock's canceller role (repeatable)")
	chainID := fs.Uint64("chain-id", 0, "refuse to deploy unless the node serves this chain id")
	dryRun := fs.Bool("dry-run", false, "print the plan, the contracts' addresses and the gas estimate; send nothing")
	confirmations := fs.Uint64("confirmations", 1, "blocks (the deployment's last included) to wait for before checking and writing the file; more than 1 needs a chain that makes blocks without transactions")
	batch := fs.Int("batch", contracts.DefaultBatch, "transactions sent before waiting for them to be mined")
	// DEPLOYMENT_FILE names the file deploy writes, not one to read: the configuration check
	// of the other commands must not look for it.
	r.hasDeployment, r.deploymentFile = true, ""
	return func(ctx context.Context, args []string) error {
		if err := needArgs(args, 0, ""); err != nil {
			return err
		}
		cfg := contracts.Config{TokenName: *name, TokenSymbol: *symbol, VotingDelay: *votingDelay, QuorumPercent: *quorum,
			TokenOwner: contracts.TokenOwner(*tokenOwner), Cancellers: cancellers}
		switch {
		case *votingPeriod == 0 || *votingPeriod > 1<<32-1:
			return usagef("--voting-period must be between 1 and 2^32-1 blocks")
		case *timelockDelay < 0 || *timelockDelay%time.Second != 0:
			return usagef("--timelock-delay must be a whole number of seconds")
		case *units != "tokens" && *units != "base":
			return usagef("--units %q: want tokens or base", *units)
		case *batch < 1:
			return usagef("--batch must be at least 1")
		case *confirmations < 1:
			return usagef("--confirmations must be at least 1")
		}
		cfg.VotingPeriod, cfg.TimelockDelay = uint32(*votingPeriod), uint64(*timelockDelay/time.Second)
		th, err := parseAmount(*threshold, false)
		if err != nil {
			return usagef("--proposal-threshold: %v", err)
		}
		cfg.ProposalThreshold = th
		if *dist != "" {
			if cfg.Mint, err = readDistribution(*dist, *units == "base"); err != nil {
				return err
			}
		}
		if err := cfg.Validate(); err != nil {
			return asUsage(err)
		}
		progFile := *progress
		if progFile == "" {
			progFile = strings.TrimSuffix(*out, ".json") + ".progress.json"
		}
		prog, err := contracts.LoadProgress(progFile)
		if err != nil {
			return err
		}
		if _, err := os.Stat(*out); err == nil && prog == nil && !*dryRun {
			return modeldao.Errorf(modeldao.ECONFLICT, "%s exists already, and no progress file (%s) says it is this deployment: a DAO was deployed; pass another --out, or remove the file to deploy a new one", *out, progFile)
		}

		eth, id, err := r.chain(ctx)
		if err != nil {
			return err
		}
		if *chainID != 0 && id.Uint64() != *chainID {
			return modeldao.Errorf(modeldao.EINVALID, "the node at %s serves chain %d, not %d (--chain-id): check --rpc", r.rpcURL, id, *chainID)
		}
		opts, err := r.signer(ctx)
		if err != nil {
			return err
		}
		plan, err := contracts.NewPlan(ctx, eth, opts.From, cfg, prog)
		if err != nil {
			return err
		}
		gas, err := plan.Estimate(ctx)
		if err != nil {
			return err
		}
		res := &deployResult{DryRun: *dryRun, ChainID: plan.ChainID, Deployer: plan.Deployer, Nonce: plan.Nonce,
			Token: plan.Token, Timelock: plan.Timelock, Governor: plan.Governor, Registry: plan.Registry}
		sent := 0
		if prog != nil {
			sent = len(prog.Sent)
		}
		var limits uint64
		for i, s := range plan.Steps {
			res.Steps = append(res.Steps, deployStepView{Name: s.Name, Nonce: s.Nonce, Contract: s.Contract, Gas: gas[i], Sent: i < sent})
			if i >= sent {
				res.Gas += gas[i]
				limits += contracts.GasLimit(gas[i])
			}
		}
		price, capPrice, err := gasPrices(ctx, eth)
		if err != nil {
			return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "read the gas price from %s", r.rpcURL)
		}
		balance, err := eth.BalanceAt(ctx, opts.From, nil)
		if err != nil {
			return modeldao.WrapError(modeldao.EUNAVAILABLE, err, "read the balance of %s", opts.From.Hex())
		}
		cost := new(big.Int).Mul(new(big.Int).SetUint64(res.Gas), price)
		reserve := new(big.Int).Mul(new(big.Int).SetUint64(limits), capPrice)
		res.GasPrice, res.Cost, res.Reserve, res.Balance = price.String(), cost.String(), reserve.String(), balance.String()
		if *dryRun {
			return r.print(res, res.text)
		}
		if balance.Cmp(reserve) < 0 {
			return modeldao.Errorf(modeldao.EINVALID,
				"%s has %s ETH, and the deployment needs %s ETH available: about %d gas at %s gwei costs %s ETH, and nodes take a transaction only when its whole gas limit is covered; fund the account (send it at least %s ETH more)",
				opts.From.Hex(), formatUnits(balance.String(), 18), formatUnits(reserve.String(), 18), res.Gas, formatUnits(price.String(), 9),
				formatUnits(cost.String(), 18), formatUnits(new(big.Int).Sub(reserve, balance).String(), 18))
		}
		r.progress("deploy: %d transactions from %s on chain %d (%d sent by an earlier run); progress in %s", len(plan.Steps), opts.From.Hex(), plan.ChainID, sent, progFile)
		done, err := plan.Execute(ctx, eth, opts, contracts.ExecOptions{ProgressFile: progFile, Confirmations: *confirmations, Batch: *batch, Wait: r.timeout,
			Log: func(format string, args ...any) { r.progress("deploy: "+format, args...) }})
		if err != nil {
			return err
		}
		if err := contracts.Check(ctx, eth, done.Deployment, opts.From, cfg); err != nil {
			return err
		}
		if err := done.Deployment.WriteFile(*out); err != nil {
			return modeldao.WrapError(modeldao.EINVALID, err, "write the deployment file")
		}
		res.Resumed, res.Block, res.BlockHash, res.DeploymentFile = done.Resumed, done.Deployment.Block, &done.Deployment.BlockHash, *out
		return r.print(res, res.text)
	}
}
