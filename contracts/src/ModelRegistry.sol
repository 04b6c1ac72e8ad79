// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ModelDAO model registry
/// @notice Publishers submit model versions; governance (the timelock, driven by the Governor)
/// approves, rejects and revokes them, registers auditors and adopts alignment policies;
/// auditors post typed bias audits. An approval names the policy it satisfies and, when that
/// policy requires an audit, the passing audit that meets the policy's bounds.
/// @dev Every state change emits an event carrying all of its data, so that an indexer can
/// rebuild the whole registry from logs alone, without a single eth_call.
contract ModelRegistry {
    enum VersionStatus {
        None,
        Submitted,
        Approved,
        Rejected,
        Revoked
    }

    /// @notice One fairness measurement of an audit. `value` and `threshold` are signed
    /// fixed-point numbers with 6 decimals (0.1 is 100000). `kind` indexes METRIC_KINDS of
    /// the off-chain vocabulary: 0 demographic parity difference, 1 demographic parity ratio,
    /// 2 equalized odds difference, 3 equal opportunity difference, 4 disparate impact ratio;
    /// kinds up to MAX_METRIC_KIND are accepted so that new ones need no new contract.
    struct Metric {
        uint8 kind;
        string sensitiveFeature;
        int64 value;
        int64 threshold;
        bool passed;
    }

    /// @notice What a policy allows for one metric kind: at most `limit` (a difference) or,
    /// when `isMinimum`, at least `limit` (a ratio). Fixed-point, 6 decimals.
    struct MetricBound {
        uint8 kind;
        bool isMinimum;
        int64 limit;
    }

    struct Version {
        bytes32 modelId;
        address publisher;
        VersionStatus status;
        uint64 policyId;
        uint64 auditId;
        bytes32 weightsSha256;
        string modelName;
        string versionLabel;
        string weightsCID;
        string modelCardCID;
        string license;
    }

    /// @notice How a version derives from its bases. Stored and passed as uint8 (not an enum)
    /// so that an unknown value reverts with InvalidRelation rather than a bare ABI panic.
    /// 0 NONE (no base), 1 FINE_TUNE, 2 ADAPTER, 3 QUANTIZATION, 4 MERGE (two or more
    /// distinct bases), 5 DISTILLATION; every relation but NONE and MERGE has exactly one base.
    uint8 public constant RELATION_NONE = 0;
    uint8 public constant RELATION_MERGE = 4;
    uint8 public constant MAX_RELATION = 5;

    /// @notice A dataset a version was trained (role 0) or evaluated (role 1) on.
    struct Dataset {
        uint8 role;
        string name;
        string cid;
        bytes32 sha256;
    }

    /// @notice Where a version comes from: the versions it derives from (ids of existing
    /// versions, in any status: the registry records ancestry, it does not judge it) and the
    /// data it was trained and evaluated on.
    struct Lineage {
        uint8 relation;
        uint256[] bases;
        Dataset[] datasets;
    }

    struct Policy {
        bool active;
        bool auditRequired;
        string name;
        string version;
        string documentCID;
        MetricBound[] bounds;
    }

    struct Audit {
        uint64 versionId;
        uint64 policyId;
        address auditor;
        bool passed;
        bytes32 reportSha256;
        string reportCID;
        Metric[] metrics;
    }

    uint8 public constant MAX_METRIC_KIND = 31;
    uint256 public constant MAX_NAME_LENGTH = 96;
    uint256 public constant MAX_LABEL_LENGTH = 64;
    uint256 public constant MAX_CID_LENGTH = 128;
    uint256 public constant MAX_LICENSE_LENGTH = 64;
    uint256 public constant MAX_TAGS = 16;
    uint256 public constant MAX_TAG_LENGTH = 32;
    uint256 public constant MAX_REASON_LENGTH = 1024;
    uint256 public constant MAX_FEATURE_LENGTH = 64;
    uint256 public constant MAX_METRICS = 64;
    uint256 public constant MAX_BOUNDS = 32;
    uint256 public constant MAX_BASES = 8;
    uint256 public constant MAX_DATASETS = 16;
    uint8 public constant MAX_DATASET_ROLE = 1;

    /// @notice The only address allowed to change statuses, auditors and policies: the timelock.
    address public immutable governance;

    mapping(bytes32 modelId => address) public modelOwner;
    mapping(bytes32 versionKey => uint256) public versionIdOf;
    mapping(address => bool) public isAuditor;

    uint256 public versionCount;
    uint256 public policyCount;
    uint256 public auditCount;

    mapping(uint256 => Version) private _versions;
    mapping(uint256 => Policy) private _policies;
    mapping(uint256 => Audit) private _audits;
    mapping(uint256 => Lineage) private _lineages;

    event ModelRegistered(bytes32 indexed modelId, string name, address indexed owner);
    event VersionSubmitted(
        uint256 indexed versionId,
        bytes32 indexed modelId,
        address indexed publisher,
        string modelName,
        string versionLabel,
        string weightsCID,
        bytes32 weightsSha256,
        string modelCardCID,
        string license,
        string[] tags,
        Lineage lineage
    );
    event VersionApproved(uint256 indexed versionId, uint256 indexed policyId, uint256 indexed auditId);
    event VersionRejected(uint256 indexed versionId, string reason);
    event VersionRevoked(uint256 indexed versionId, string reason);
    event AuditorAdded(address indexed auditor, string name);
    event AuditorRemoved(address indexed auditor);
    event PolicyAdopted(
        uint256 indexed policyId,
        string name,
        string version,
        string documentCID,
        bool auditRequired,
        MetricBound[] bounds
    );
    event PolicyRetired(uint256 indexed policyId);
    event AuditSubmitted(
        uint256 indexed auditId,
        uint256 indexed versionId,
        uint256 indexed policyId,
        address auditor,
        string reportCID,
        bytes32 reportSha256,
        Metric[] metrics,
        bool passed
    );

    error NotGovernance(address caller);
    error NotAuditor(address caller);
    error ZeroAddress();
    error EmptyString(string field);
    error StringTooLong(string field, uint256 maxLength);
    error InvalidModelName(string name);
    error ZeroDigest(string field);
    error TooMany(string field, uint256 max);
    error NotModelOwner(string modelName, address owner);
    error DuplicateVersion(string modelName, string versionLabel);
    error UnknownVersion(uint256 versionId);
    error InvalidTransition(uint256 versionId, VersionStatus from, VersionStatus to);
    error UnknownPolicy(uint256 policyId);
    error PolicyNotActive(uint256 policyId);
    error UnknownAudit(uint256 auditId);
    error AuditorAlreadyActive(address auditor);
    error AuditorNotActive(address auditor);
    error InvalidMetricKind(uint8 kind);
    error DuplicateBound(uint8 kind);
    error InconsistentVerdict();
    error AuditRequired(uint256 versionId, uint256 policyId);
    error AuditMismatch(uint256 auditId, uint256 versionId, uint256 policyId);
    error AuditNotPassed(uint256 auditId);
    error MetricMissing(uint256 auditId, uint8 kind);
    error BoundNotMet(uint256 auditId, uint8 kind, string sensitiveFeature, int64 value, int64 limit);
    error InvalidRelation(uint8 relation);
    error WrongBaseCount(uint8 relation, uint256 count);
    error DuplicateBase(uint256 versionId);
    error InvalidDatasetRole(uint8 role);

    modifier onlyGovernance() {
        if (msg.sender != governance) revert NotGovernance(msg.sender);
        _;
    }

    constructor(address governance_) {
        if (governance_ == address(0)) revert ZeroAddress();
        governance = governance_;
    }

    // ---------------------------------------------------------------- publishers

    /// @notice Submits a version of a model. The first publisher of a model name owns it; only
    /// the owner may submit further versions; a (name, label) pair is submitted once.
    /// `lineage` names the versions this one derives from and its datasets (_checkLineage).
    function submitVersion(
        string calldata modelName,
        string calldata versionLabel,
        string calldata weightsCID,
        bytes32 weightsSha256,
        string calldata modelCardCID,
        string calldata license,
        string[] calldata tags,
        Lineage calldata lineage
    ) external returns (uint256 versionId) {
        _checkModelName(modelName);
        _checkString("versionLabel", versionLabel, MAX_LABEL_LENGTH);
        _checkString("weightsCID", weightsCID, MAX_CID_LENGTH);
        if (weightsSha256 == bytes32(0)) revert ZeroDigest("weightsSha256");
        _checkString("modelCardCID", modelCardCID, MAX_CID_LENGTH);
        _checkString("license", license, MAX_LICENSE_LENGTH);
        if (tags.length > MAX_TAGS) revert TooMany("tags", MAX_TAGS);
        for (uint256 i = 0; i < tags.length; i++) {
            _checkString("tag", tags[i], MAX_TAG_LENGTH);
        }
        _checkLineage(lineage);

        bytes32 modelId = keccak256(bytes(modelName));
        address owner = modelOwner[modelId];
        if (owner == address(0)) {
            modelOwner[modelId] = msg.sender;
            emit ModelRegistered(modelId, modelName, msg.sender);
        } else if (owner != msg.sender) {
            revert NotModelOwner(modelName, owner);
        }

        bytes32 key = keccak256(abi.encode(modelId, versionLabel));
        if (versionIdOf[key] != 0) revert DuplicateVersion(modelName, versionLabel);

        versionId = ++versionCount;
        versionIdOf[key] = versionId;
        Version storage v = _versions[versionId];
        v.modelId = modelId;
        v.publisher = msg.sender;
        v.status = VersionStatus.Submitted;
        v.weightsSha256 = weightsSha256;
        v.modelName = modelName;
        v.versionLabel = versionLabel;
        v.weightsCID = weightsCID;
        v.modelCardCID = modelCardCID;
        v.license = license;
        Lineage storage l = _lineages[versionId];
        l.relation = lineage.relation;
        l.bases = lineage.bases;
        for (uint256 i = 0; i < lineage.datasets.length; i++) {
            l.datasets.push(lineage.datasets[i]);
        }

        emit VersionSubmitted(
            versionId, modelId, msg.sender, modelName, versionLabel, weightsCID, weightsSha256, modelCardCID, license, tags, lineage
        );
    }

    // ---------------------------------------------------------------- auditors

    /// @notice Posts a bias audit of a version under an active policy. A passing verdict
    /// requires every metric to have passed its own threshold.
    function submitAudit(
        uint256 versionId,
        uint256 policyId,
        string calldata reportCID,
        bytes32 reportSha256,
        Metric[] calldata metrics,
        bool passed
    ) external returns (uint256 auditId) {
        if (!isAuditor[msg.sender]) revert NotAuditor(msg.sender);
        if (_versions[versionId].status == VersionStatus.None) revert UnknownVersion(versionId);
        _requireActivePolicy(policyId);
        _checkString("reportCID", reportCID, MAX_CID_LENGTH);
        if (reportSha256 == bytes32(0)) revert ZeroDigest("reportSha256");
        if (metrics.length == 0) revert EmptyString("metrics");
        if (metrics.length > MAX_METRICS) revert TooMany("metrics", MAX_METRICS);

        auditId = ++auditCount;
        Audit storage a = _audits[auditId];
        a.versionId = uint64(versionId);
        a.policyId = uint64(policyId);
        a.auditor = msg.sender;
        a.passed = passed;
        a.reportSha256 = reportSha256;
        a.reportCID = reportCID;
        for (uint256 i = 0; i < metrics.length; i++) {
            Metric calldata m = metrics[i];
            if (m.kind > MAX_METRIC_KIND) revert InvalidMetricKind(m.kind);
            _checkString("sensitiveFeature", m.sensitiveFeature, MAX_FEATURE_LENGTH);
            if (passed && !m.passed) revert InconsistentVerdict();
            a.metrics.push(m);
        }

        emit AuditSubmitted(auditId, versionId, policyId, msg.sender, reportCID, reportSha256, metrics, passed);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Approves a submitted version under an active policy. When the policy requires
    /// an audit, `auditId` must name a passing audit of this version under this policy whose
    /// metrics meet every bound of the policy; otherwise `auditId` may be 0.
    function approveVersion(uint256 versionId, uint256 policyId, uint256 auditId) external onlyGovernance {
        Version storage v = _transition(versionId, VersionStatus.Submitted, VersionStatus.Approved);
        Policy storage p = _requireActivePolicy(policyId);
        if (auditId != 0 || p.auditRequired) {
            if (auditId == 0) revert AuditRequired(versionId, policyId);
            _checkAudit(versionId, policyId, auditId, p);
        }
        v.policyId = uint64(policyId);
        v.auditId = uint64(auditId);
        emit VersionApproved(versionId, policyId, auditId);
    }

    /// @notice Rejects a submitted version.
    function rejectVersion(uint256 versionId, string calldata reason) external onlyGovernance {
        _checkOptionalString("reason", reason, MAX_REASON_LENGTH);
        _transition(versionId, VersionStatus.Submitted, VersionStatus.Rejected);
        emit VersionRejected(versionId, reason);
    }

    /// @notice Revokes an approved version (its weights are then unpinned off-chain).
    function revokeVersion(uint256 versionId, string calldata reason) external onlyGovernance {
        _checkOptionalString("reason", reason, MAX_REASON_LENGTH);
        _transition(versionId, VersionStatus.Approved, VersionStatus.Revoked);
        emit VersionRevoked(versionId, reason);
    }

    function addAuditor(address auditor, string calldata name) external onlyGovernance {
        if (auditor == address(0)) revert ZeroAddress();
        _checkString("auditorName", name, MAX_LABEL_LENGTH);
        if (isAuditor[auditor]) revert AuditorAlreadyActive(auditor);
        isAuditor[auditor] = true;
        emit AuditorAdded(auditor, name);
    }

    function removeAuditor(address auditor) external onlyGovernance {
        if (!isAuditor[auditor]) revert AuditorNotActive(auditor);
        isAuditor[auditor] = false;
        emit AuditorRemoved(auditor);
    }

    /// @notice Adopts an alignment policy; returns its id (sequential from 1).
    function adoptPolicy(
        string calldata name,
        string calldata version,
        string calldata documentCID,
        bool auditRequired,
        MetricBound[] calldata bounds
    ) external onlyGovernance returns (uint256 policyId) {
        _checkString("policyName", name, MAX_LABEL_LENGTH);
        _checkString("policyVersion", version, MAX_LABEL_LENGTH);
        _checkString("documentCID", documentCID, MAX_CID_LENGTH);
        if (bounds.length > MAX_BOUNDS) revert TooMany("bounds", MAX_BOUNDS);
        uint32 seen;
        policyId = ++policyCount;
        Policy storage p = _policies[policyId];
        p.active = true;
        p.auditRequired = auditRequired;
        p.name = name;
        p.version = version;
        p.documentCID = documentCID;
        for (uint256 i = 0; i < bounds.length; i++) {
            uint8 kind = bounds[i].kind;
            if (kind > MAX_METRIC_KIND) revert InvalidMetricKind(kind);
            if (seen & (uint32(1) << kind) != 0) revert DuplicateBound(kind);
            seen |= uint32(1) << kind;
            p.bounds.push(bounds[i]);
        }
        emit PolicyAdopted(policyId, name, version, documentCID, auditRequired, bounds);
    }

    /// @notice Retires a policy: no approval or audit may name it any more. Versions approved
    /// under it stay approved; revoking them is a decision of its own.
    function retirePolicy(uint256 policyId) external onlyGovernance {
        Policy storage p = _requireActivePolicy(policyId);
        p.active = false;
        emit PolicyRetired(policyId);
    }

    // ---------------------------------------------------------------- views

    function getVersion(uint256 versionId) external view returns (Version memory) {
        if (_versions[versionId].status == VersionStatus.None) revert UnknownVersion(versionId);
        return _versions[versionId];
    }

    /// @notice The bases, relation and datasets a version was submitted with.
    function getLineage(uint256 versionId) external view returns (Lineage memory) {
        if (_versions[versionId].status == VersionStatus.None) revert UnknownVersion(versionId);
        return _lineages[versionId];
    }

    function versionStatus(uint256 versionId) external view returns (VersionStatus) {
        return _versions[versionId].status;
    }

    function getPolicy(uint256 policyId) external view returns (Policy memory) {
        if (policyId == 0 || policyId > policyCount) revert UnknownPolicy(policyId);
        return _policies[policyId];
    }

    function getAudit(uint256 auditId) external view returns (Audit memory) {
        if (auditId == 0 || auditId > auditCount) revert UnknownAudit(auditId);
        return _audits[auditId];
    }

    // ---------------------------------------------------------------- internals

    function _transition(uint256 versionId, VersionStatus from, VersionStatus to) private returns (Version storage v) {
        v = _versions[versionId];
        if (v.status == VersionStatus.None) revert UnknownVersion(versionId);
        if (v.status != from) revert InvalidTransition(versionId, v.status, to);
        v.status = to;
    }

    function _requireActivePolicy(uint256 policyId) private view returns (Policy storage p) {
        if (policyId == 0 || policyId > policyCount) revert UnknownPolicy(policyId);
        p = _policies[policyId];
        if (!p.active) revert PolicyNotActive(policyId);
    }

    function _checkAudit(uint256 versionId, uint256 policyId, uint256 auditId, Policy storage p) private view {
        if (auditId > auditCount) revert UnknownAudit(auditId);
        Audit storage a = _audits[auditId];
        if (a.versionId != versionId || a.policyId != policyId) revert AuditMismatch(auditId, versionId, policyId);
        if (!a.passed) revert AuditNotPassed(auditId);
        for (uint256 b = 0; b < p.bounds.length; b++) {
            MetricBound storage bound = p.bounds[b];
            bool found;
            for (uint256 i = 0; i < a.metrics.length; i++) {
                Metric storage m = a.metrics[i];
                if (m.kind != bound.kind) continue;
                found = true;
                bool ok = bound.isMinimum ? m.value >= bound.limit : m.value <= bound.limit;
                if (!ok) revert BoundNotMet(auditId, m.kind, m.sensitiveFeature, m.value, bound.limit);
            }
            if (!found) revert MetricMissing(auditId, bound.kind);
        }
    }

    /// @dev Bases must already exist, so ancestry never has a cycle; their status does not
    /// matter (a derivative of a revoked version is recorded, and flagged off-chain).
    function _checkLineage(Lineage calldata l) private view {
        if (l.relation > MAX_RELATION) revert InvalidRelation(l.relation);
        uint256 n = l.bases.length;
        if (n > MAX_BASES) revert TooMany("bases", MAX_BASES);
        bool ok = l.relation == RELATION_NONE ? n == 0 : l.relation == RELATION_MERGE ? n >= 2 : n == 1;
        if (!ok) revert WrongBaseCount(l.relation, n);
        for (uint256 i = 0; i < n; i++) {
            uint256 b = l.bases[i];
            if (_versions[b].status == VersionStatus.None) revert UnknownVersion(b);
            for (uint256 j = 0; j < i; j++) {
                if (l.bases[j] == b) revert DuplicateBase(b);
            }
        }
        if (l.datasets.length > MAX_DATASETS) revert TooMany("datasets", MAX_DATASETS);
        for (uint256 i = 0; i < l.datasets.length; i++) {
            Dataset calldata d = l.datasets[i];
            if (d.role > MAX_DATASET_ROLE) revert InvalidDatasetRole(d.role);
            _checkString("datasetName", d.name, MAX_NAME_LENGTH);
            _checkString("datasetCID", d.cid, MAX_CID_LENGTH);
            if (d.sha256 == bytes32(0)) revert ZeroDigest("datasetSha256");
        }
    }

    function _checkString(string memory field, string calldata s, uint256 maxLength) private pure {
        if (bytes(s).length == 0) revert EmptyString(field);
        if (bytes(s).length > maxLength) revert StringTooLong(field, maxLength);
    }

    function _checkOptionalString(string memory field, string calldata s, uint256 maxLength) private pure {
        if (bytes(s).length > maxLength) revert StringTooLong(field, maxLength);
    }

    /// @dev Model names follow the Hugging Face Hub's rules closely enough to rule out
    /// look-alike and invisible characters: ASCII letters, digits, '-', '_', '.', '/'.
    function _checkModelName(string calldata name) private pure {
        bytes calldata b = bytes(name);
        if (b.length == 0) revert EmptyString("modelName");
        if (b.length > MAX_NAME_LENGTH) revert StringTooLong("modelName", MAX_NAME_LENGTH);
        for (uint256 i = 0; i < b.length; i++) {
            bytes1 c = b[i];
            bool ok = (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || (c >= "0" && c <= "9") || c == "-" || c == "_"
                || c == "." || c == "/";
            if (!ok) revert InvalidModelName(name);
        }
    }
}
