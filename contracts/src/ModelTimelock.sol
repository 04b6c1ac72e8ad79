// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title ModelDAO timelock
/// @notice OpenZeppelin's TimelockController as it is; declared here only so that the
/// compiler emits its artifact next to the others. It owns the ModelRegistry.
contract ModelTimelock is TimelockController {
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
