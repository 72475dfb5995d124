// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @notice The part of IssuerRegistry that anchoring depends on.
interface ITrustedIssuers {
    /// @notice True when `account` is a TI that is active and within its validity window now.
    function isActiveTI(address account) external view returns (bool);
}

/// @title CredentialAnchor
/// @notice Anchors Merkle roots of credential batches issued by trusted issuers, and records
///         revocations and suspensions of individual credentials, bound to the anchoring issuer.
/// @dev Leaves follow OpenZeppelin's StandardMerkleTree with leaf encoding ["bytes32"]:
///      leaf = keccak256(bytes.concat(keccak256(abi.encode(digest)))). No personal data reaches the
///      chain: only roots and salted credential digests. Not upgradeable on purpose.
contract CredentialAnchor {
    /// @notice Status of one credential under one root.
    enum CredentialStatus {
        Valid,
        Suspended,
        Revoked
    }

    /// @dev One slot per root: issuer (20 bytes) + time (6) + block (6).
    struct AnchorRecord {
        address issuer;
        uint48 anchoredAt;
        uint48 blockNumber;
    }

    /// @dev One slot per revoked or suspended credential.
    struct StatusRecord {
        CredentialStatus status;
        uint8 reason;
        uint48 changedAt;
        uint48 blockNumber;
    }

    /// @notice Everything a verifier needs about one credential, from a single call.
    struct CredentialView {
        bool included;
        bool anchored;
        address issuer;
        uint48 anchoredAt;
        uint48 anchoredBlock;
        CredentialStatus status;
        uint8 reason;
        uint48 statusChangedAt;
        uint48 statusBlock;
    }

    /// @notice The latest published version of an issuer's status list (W3C Bitstring Status List).
    struct StatusListRecord {
        bytes32 listHash;
        uint48 publishedAt;
        uint48 blockNumber;
        uint64 version;
    }

    /// @notice Upper bound on credentials per status-change transaction (keeps gas below block limits).
    uint256 public constant MAX_STATUS_BATCH = 512;

    /// @notice The registry that decides who is a trusted issuer.
    ITrustedIssuers public immutable registry;

    mapping(bytes32 => AnchorRecord) private _anchors;
    mapping(bytes32 => mapping(bytes32 => StatusRecord)) private _statuses;
    mapping(address => mapping(bytes32 => StatusListRecord)) private _statusLists;

    /// @notice Emitted once per anchored batch.
    event Anchored(bytes32 indexed root, address indexed issuer, uint256 leafCount);

    /// @notice Emitted for every credential whose status changes.
    event CredentialStatusChanged(
        bytes32 indexed root,
        bytes32 indexed digest,
        address indexed issuer,
        CredentialStatus status,
        uint8 reason
    );

    /// @notice Emitted each time an issuer publishes a new version of one of its status lists.
    event StatusListPublished(address indexed issuer, bytes32 indexed listId, bytes32 listHash, uint64 version);

    /// @notice The caller is not an active trusted issuer.
    error NotActiveIssuer(address caller);
    /// @notice The root was anchored before.
    error RootAlreadyAnchored(bytes32 root);
    /// @notice The root is zero or the batch is empty.
    error EmptyBatch();
    /// @notice The root was never anchored.
    error UnknownRoot(bytes32 root);
    /// @notice Only the issuer that anchored the root may change statuses under it.
    error NotAnchoringIssuer(address caller, bytes32 root);
    /// @notice The multiproof does not prove the digests are in the root.
    error InvalidProof(bytes32 root);
    /// @notice The list of digests is empty or longer than MAX_STATUS_BATCH.
    error InvalidBatchSize(uint256 size);
    /// @notice The credential is revoked already (revocation is final) or not in the required status.
    error InvalidCredentialStatus(bytes32 digest, CredentialStatus current);

    /// @param registry_ The IssuerRegistry whose active TIs may anchor.
    constructor(ITrustedIssuers registry_) {
        registry = registry_;
    }

    /// @notice Anchors the Merkle root of a batch of `leafCount` credentials.
    /// @dev Gas does not depend on the batch size: one registry call, one slot, one event.
    /// @param root The StandardMerkleTree root of the batch.
    /// @param leafCount Number of credentials in the batch (recorded in the event for audits).
    function anchor(bytes32 root, uint256 leafCount) external {
        if (root == bytes32(0) || leafCount == 0) revert EmptyBatch();
        if (_anchors[root].issuer != address(0)) revert RootAlreadyAnchored(root);
        if (!registry.isActiveTI(msg.sender)) revert NotActiveIssuer(msg.sender);
        _anchors[root] = AnchorRecord(msg.sender, uint48(block.timestamp), uint48(block.number));
        emit Anchored(root, msg.sender, leafCount);
    }

    /// @notice Revokes credentials of one anchored batch for good.
    /// @param root The anchored root the credentials belong to.
    /// @param digests The credential digests, in the leaf order of the multiproof.
    /// @param proof The multiproof (OpenZeppelin `getMultiProof`) for the digests' leaves.
    /// @param proofFlags The multiproof flags.
    /// @param reason Reason code (RFC 5280 style, or academic reasons; see the node's documentation).
    function revoke(
        bytes32 root,
        bytes32[] calldata digests,
        bytes32[] calldata proof,
        bool[] calldata proofFlags,
        uint8 reason
    ) external {
        _changeStatus(root, digests, proof, proofFlags, CredentialStatus.Revoked, reason);
    }

    /// @notice Suspends credentials of one anchored batch (reversible).
    /// @param root The anchored root the credentials belong to.
    /// @param digests The credential digests, in the leaf order of the multiproof.
    /// @param proof The multiproof for the digests' leaves.
    /// @param proofFlags The multiproof flags.
    /// @param reason Reason code.
    function suspend(
        bytes32 root,
        bytes32[] calldata digests,
        bytes32[] calldata proof,
        bool[] calldata proofFlags,
        uint8 reason
    ) external {
        _changeStatus(root, digests, proof, proofFlags, CredentialStatus.Suspended, reason);
    }

    /// @notice Lifts a suspension.
    /// @param root The anchored root the credentials belong to.
    /// @param digests The credential digests, in the leaf order of the multiproof.
    /// @param proof The multiproof for the digests' leaves.
    /// @param proofFlags The multiproof flags.
    function reinstate(
        bytes32 root,
        bytes32[] calldata digests,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external {
        _changeStatus(root, digests, proof, proofFlags, CredentialStatus.Valid, 0);
    }

    /// @notice Publishes the hash of a new version of the caller's status list `listId`, so verifiers can
    ///         check that a status list served by any node is the one the issuer published.
    /// @dev Keyed by the caller, so an account can only publish its own lists; open to every account so that an
    ///      issuer suspended from issuing can still publish revocations. Verifiers look lists up by the address
    ///      that anchored the credential, which makes lists of other accounts irrelevant to them.
    /// @param listId keccak256 of the status list credential's URL (or another stable identifier).
    /// @param listHash keccak256 of the encoded list (the `encodedList` string's UTF-8 bytes).
    function publishStatusList(bytes32 listId, bytes32 listHash) external {
        if (listHash == bytes32(0)) revert EmptyBatch();
        StatusListRecord storage record = _statusLists[msg.sender][listId];
        uint64 version = record.version + 1;
        _statusLists[msg.sender][listId] = StatusListRecord(
            listHash,
            uint48(block.timestamp),
            uint48(block.number),
            version
        );
        emit StatusListPublished(msg.sender, listId, listHash, version);
    }

    /// @notice The latest published version of `issuer`'s status list `listId` (zero values when none).
    /// @param issuer The publishing issuer's address.
    /// @param listId The list identifier used when publishing.
    function statusListOf(address issuer, bytes32 listId) external view returns (StatusListRecord memory) {
        return _statusLists[issuer][listId];
    }

    /// @notice Who anchored `root`, and when (zero values when never anchored).
    /// @param root The root to look up.
    function anchorOf(bytes32 root) external view returns (AnchorRecord memory) {
        return _anchors[root];
    }

    /// @notice Status of one credential under one root.
    /// @param root The root the credential belongs to.
    /// @param digest The credential digest.
    function statusOf(bytes32 root, bytes32 digest) external view returns (StatusRecord memory) {
        return _statuses[root][digest];
    }

    /// @notice Everything a verifier needs in one call: inclusion, anchoring issuer and time, status.
    /// @param digest The credential digest.
    /// @param root The root the proof folds to.
    /// @param proof The Merkle proof of the digest's leaf.
    function verify(
        bytes32 digest,
        bytes32 root,
        bytes32[] calldata proof
    ) external view returns (CredentialView memory view_) {
        AnchorRecord memory a = _anchors[root];
        StatusRecord memory s = _statuses[root][digest];
        view_.included = MerkleProof.verifyCalldata(proof, root, leafHash(digest));
        view_.anchored = a.issuer != address(0);
        view_.issuer = a.issuer;
        view_.anchoredAt = a.anchoredAt;
        view_.anchoredBlock = a.blockNumber;
        view_.status = s.status;
        view_.reason = s.reason;
        view_.statusChangedAt = s.changedAt;
        view_.statusBlock = s.blockNumber;
    }

    /// @notice The StandardMerkleTree leaf of a digest (double hashed against second preimages).
    /// @param digest The credential digest.
    function leafHash(bytes32 digest) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(digest))));
    }

    /// @dev Split in three steps: calldata arrays take two stack slots each, which one function cannot hold.
    function _changeStatus(
        bytes32 root,
        bytes32[] calldata digests,
        bytes32[] calldata proof,
        bool[] calldata proofFlags,
        CredentialStatus to,
        uint8 reason
    ) private {
        _requireAnchoringIssuer(root);
        _requireIncluded(root, digests, proof, proofFlags);
        _applyStatus(root, digests, to, reason);
    }

    function _requireAnchoringIssuer(bytes32 root) private view {
        address issuer = _anchors[root].issuer;
        if (issuer == address(0)) revert UnknownRoot(root);
        if (issuer != msg.sender) revert NotAnchoringIssuer(msg.sender, root);
    }

    function _requireIncluded(
        bytes32 root,
        bytes32[] calldata digests,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) private pure {
        uint256 n = digests.length;
        if (n == 0 || n > MAX_STATUS_BATCH) revert InvalidBatchSize(n);
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            leaves[i] = leafHash(digests[i]);
        }
        if (!MerkleProof.multiProofVerifyCalldata(proof, proofFlags, root, leaves)) revert InvalidProof(root);
    }

    function _applyStatus(bytes32 root, bytes32[] calldata digests, CredentialStatus to, uint8 reason) private {
        for (uint256 i = 0; i < digests.length; ++i) {
            bytes32 digest = digests[i];
            CredentialStatus current = _statuses[root][digest].status;
            bool allowed = to == CredentialStatus.Valid
                ? current == CredentialStatus.Suspended
                : current != CredentialStatus.Revoked && current != to;
            if (!allowed) revert InvalidCredentialStatus(digest, current);
            _statuses[root][digest] = StatusRecord(to, reason, uint48(block.timestamp), uint48(block.number));
            emit CredentialStatusChanged(root, digest, msg.sender, to, reason);
        }
    }
}
