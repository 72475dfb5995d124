// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ITrustedIssuers} from "./interfaces/ITrustedIssuers.sol";

/// @title CredentialAnchor (version 2.0.0)
/// @notice Anchors Merkle roots of credential batches issued by trusted issuers, and records revocations and
///         suspensions of individual credentials. Every record lives in the namespace of the issuer that wrote
///         it, keyed by (issuer, root) as EAS keys attestations by attester: no account can occupy, hijack or
///         change the status of another issuer's root, and verifiers always look records up by the issuer.
/// @dev Leaves follow OpenZeppelin's StandardMerkleTree with leaf encoding ["bytes32"]:
///      leaf = keccak256(bytes.concat(keccak256(abi.encode(digest)))). No personal data reaches the chain:
///      only roots and credential digests. Only an active TI (per the registry, checked at anchoring) can
///      anchor, so an anchor record proves that its issuer was trusted when it anchored. Not upgradeable on
///      purpose.
contract CredentialAnchor {
    /// @notice Status of one credential under one (issuer, root).
    enum CredentialStatus {
        Valid,
        Suspended,
        Revoked
    }

    /// @notice One slot per (issuer, root): time (6 bytes) + block (6) + leaf count (8). Zero `leafCount`
    ///         means never anchored.
    struct AnchorRecord {
        uint48 anchoredAt;
        uint48 blockNumber;
        uint64 leafCount;
    }

    /// @notice One slot per suspended or revoked credential.
    struct StatusRecord {
        CredentialStatus status;
        uint8 reason;
        uint48 changedAt;
        uint48 blockNumber;
    }

    /// @notice Everything a verifier needs about one credential of one issuer, from a single call.
    struct CredentialView {
        bool included;
        bool anchored;
        uint48 anchoredAt;
        uint48 anchoredBlock;
        uint64 leafCount;
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
    /// @return The maximum number of digests in one revoke, suspend or reinstate call (512).
    uint256 public constant MAX_STATUS_BATCH = 512;

    /// @notice The registry that decides who is a trusted issuer.
    /// @return The ITrustedIssuers registry fixed at deployment.
    ITrustedIssuers public immutable registry;

    mapping(address issuer => mapping(bytes32 root => AnchorRecord)) private _anchors;
    mapping(address issuer => mapping(bytes32 root => mapping(bytes32 digest => StatusRecord))) private _statuses;
    mapping(address issuer => mapping(bytes32 listId => StatusListRecord)) private _statusLists;

    /// @notice Emitted once per anchored batch.
    /// @param issuer The anchoring TI (the namespace of the record).
    /// @param root The batch's Merkle root.
    /// @param leafCount Number of credentials in the batch.
    event Anchored(address indexed issuer, bytes32 indexed root, uint256 leafCount);

    /// @notice Emitted for every credential whose status changes.
    /// @param issuer The issuer whose namespace holds the root.
    /// @param root The root the credential belongs to.
    /// @param digest The credential digest.
    /// @param status The new status.
    /// @param reason Reason code (0 when reinstated).
    event CredentialStatusChanged(
        address indexed issuer,
        bytes32 indexed root,
        bytes32 indexed digest,
        CredentialStatus status,
        uint8 reason
    );

    /// @notice Emitted each time an issuer publishes a new version of one of its status lists.
    /// @param issuer The publishing TI.
    /// @param listId The list identifier.
    /// @param listHash keccak256 of the encoded list.
    /// @param version The list's version counter after this publication (1 for the first).
    event StatusListPublished(address indexed issuer, bytes32 indexed listId, bytes32 listHash, uint64 version);

    /// @notice The registry address is zero.
    error ZeroRegistry();
    /// @notice The caller is not a TI that is active and within its validity window.
    /// @param caller The caller.
    error NotActiveIssuer(address caller);
    /// @notice The caller has never been accredited as a TI.
    /// @param caller The caller.
    error NotRegisteredIssuer(address caller);
    /// @notice The root is zero, or `leafCount` is zero or does not fit in 64 bits.
    /// @param root The root given.
    /// @param leafCount The leaf count given.
    error InvalidAnchor(bytes32 root, uint256 leafCount);
    /// @notice The issuer anchored this root before.
    /// @param issuer The issuer.
    /// @param root The root.
    error RootAlreadyAnchored(address issuer, bytes32 root);
    /// @notice The issuer never anchored this root (records are per issuer: another issuer's root is unknown).
    /// @param issuer The issuer whose namespace was searched.
    /// @param root The root.
    error UnknownRoot(address issuer, bytes32 root);
    /// @notice The multiproof does not prove the digests are in the root.
    /// @param issuer The issuer.
    /// @param root The root.
    error InvalidProof(address issuer, bytes32 root);
    /// @notice The list of digests is empty or longer than MAX_STATUS_BATCH.
    /// @param size The number of digests given.
    /// @param max The maximum (MAX_STATUS_BATCH).
    error InvalidBatchSize(uint256 size, uint256 max);
    /// @notice The credential cannot go from its current status to the requested one (revocation is final;
    ///         only a suspended credential can be reinstated; a status cannot be set twice).
    /// @param digest The credential digest.
    /// @param current Its current status.
    /// @param requested The status asked for.
    error InvalidCredentialStatus(bytes32 digest, CredentialStatus current, CredentialStatus requested);
    /// @notice The list hash is zero.
    /// @param listId The list identifier.
    error EmptyListHash(bytes32 listId);

    /// @param registry_ The IssuerRegistry whose active TIs may anchor.
    constructor(ITrustedIssuers registry_) {
        if (address(registry_) == address(0)) revert ZeroRegistry();
        registry = registry_;
    }

    /// @notice Anchors the Merkle root of a batch of `leafCount` credentials under the caller's namespace.
    /// @dev Only an active TI. Gas does not depend on the batch size: one registry call, one slot, one event.
    ///      The same root anchored by another issuer is a different record and does not block this one.
    /// @param root The StandardMerkleTree root of the batch.
    /// @param leafCount Number of credentials in the batch (1 to 2^64 - 1).
    function anchor(bytes32 root, uint256 leafCount) external {
        if (root == bytes32(0) || leafCount == 0 || leafCount > type(uint64).max) {
            revert InvalidAnchor(root, leafCount);
        }
        if (!registry.isActiveTI(msg.sender)) revert NotActiveIssuer(msg.sender);
        AnchorRecord storage record = _anchors[msg.sender][root];
        if (record.leafCount != 0) revert RootAlreadyAnchored(msg.sender, root);
        record.anchoredAt = uint48(block.timestamp);
        record.blockNumber = uint48(block.number);
        record.leafCount = uint64(leafCount);
        emit Anchored(msg.sender, root, leafCount);
    }

    /// @notice Revokes credentials of one of the caller's anchored batches, for good.
    /// @dev Allowed to the anchoring issuer whatever its registry status now: an issuer that was suspended or
    ///      lost its accreditation must still be able to withdraw fraudulent credentials.
    /// @param root A root the caller anchored.
    /// @param digests The credential digests, in the leaf order of the multiproof (at most MAX_STATUS_BATCH).
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

    /// @notice Suspends credentials of one of the caller's anchored batches (reversible).
    /// @dev Only while the caller is an active TI.
    /// @param root A root the caller anchored.
    /// @param digests The credential digests, in the leaf order of the multiproof (at most MAX_STATUS_BATCH).
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
        if (!registry.isActiveTI(msg.sender)) revert NotActiveIssuer(msg.sender);
        _changeStatus(root, digests, proof, proofFlags, CredentialStatus.Suspended, reason);
    }

    /// @notice Lifts a suspension of credentials of one of the caller's anchored batches.
    /// @dev Only while the caller is an active TI.
    /// @param root A root the caller anchored.
    /// @param digests The credential digests, in the leaf order of the multiproof (at most MAX_STATUS_BATCH).
    /// @param proof The multiproof for the digests' leaves.
    /// @param proofFlags The multiproof flags.
    function reinstate(
        bytes32 root,
        bytes32[] calldata digests,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) external {
        if (!registry.isActiveTI(msg.sender)) revert NotActiveIssuer(msg.sender);
        _changeStatus(root, digests, proof, proofFlags, CredentialStatus.Valid, 0);
    }

    /// @notice Publishes the hash of a new version of the caller's status list `listId`, so verifiers can check
    ///         that a status list served by any node is the one the issuer published.
    /// @dev Keyed by the caller, so an account can only publish its own lists. Open to every account that is a
    ///      TI in the registry in any status: a suspended or revoked TI still publishes its revocations.
    /// @param listId keccak256 of the status list credential's URL (or another stable identifier).
    /// @param listHash keccak256 of the encoded list (the `encodedList` string's UTF-8 bytes).
    function publishStatusList(bytes32 listId, bytes32 listHash) external {
        if (listHash == bytes32(0)) revert EmptyListHash(listId);
        if (!registry.isRegisteredTI(msg.sender)) revert NotRegisteredIssuer(msg.sender);
        StatusListRecord storage record = _statusLists[msg.sender][listId];
        uint64 newVersion = record.version + 1;
        record.listHash = listHash;
        record.publishedAt = uint48(block.timestamp);
        record.blockNumber = uint48(block.number);
        record.version = newVersion;
        emit StatusListPublished(msg.sender, listId, listHash, newVersion);
    }

    /// @notice The latest published version of `issuer`'s status list `listId` (zero values when none).
    /// @param issuer The publishing issuer's address.
    /// @param listId The list identifier used when publishing.
    /// @return record The list hash, publication time and block, and version counter.
    function statusListOf(address issuer, bytes32 listId) external view returns (StatusListRecord memory record) {
        return _statusLists[issuer][listId];
    }

    /// @notice When `issuer` anchored `root`, and how many leaves it declared (zero values when never).
    /// @param issuer The anchoring issuer.
    /// @param root The root to look up.
    /// @return record Anchoring time, block number and leaf count.
    function anchorOf(address issuer, bytes32 root) external view returns (AnchorRecord memory record) {
        return _anchors[issuer][root];
    }

    /// @notice Status of one credential under one of `issuer`'s roots.
    /// @param issuer The anchoring issuer.
    /// @param root The root the credential belongs to.
    /// @param digest The credential digest.
    /// @return record Status, reason code, and time and block of the last change (all zero: Valid, never
    ///         changed).
    function statusOf(address issuer, bytes32 root, bytes32 digest) external view returns (StatusRecord memory record) {
        return _statuses[issuer][root][digest];
    }

    /// @notice Everything a verifier needs in one call: inclusion, anchoring by `issuer` and when, and status.
    /// @dev `anchored` true means `issuer` was an active TI when it anchored `root` (checked at anchoring).
    ///      Its registry status now is the registry's to answer.
    /// @param issuer The issuer the credential claims (the address that anchored the root).
    /// @param digest The credential digest.
    /// @param root The root the proof folds to.
    /// @param proof The Merkle proof of the digest's leaf.
    /// @return result Inclusion, anchoring (time, block, leaf count) and status (reason, time, block).
    function verify(
        address issuer,
        bytes32 digest,
        bytes32 root,
        bytes32[] calldata proof
    ) external view returns (CredentialView memory result) {
        AnchorRecord memory a = _anchors[issuer][root];
        StatusRecord memory s = _statuses[issuer][root][digest];
        result.included = MerkleProof.verifyCalldata(proof, root, leafHash(digest));
        result.anchored = a.leafCount != 0;
        result.anchoredAt = a.anchoredAt;
        result.anchoredBlock = a.blockNumber;
        result.leafCount = a.leafCount;
        result.status = s.status;
        result.reason = s.reason;
        result.statusChangedAt = s.changedAt;
        result.statusBlock = s.blockNumber;
    }

    /// @notice The StandardMerkleTree leaf of a digest (double hashed against second preimages).
    /// @param digest The credential digest.
    /// @return The leaf hash keccak256(bytes.concat(keccak256(abi.encode(digest)))).
    function leafHash(bytes32 digest) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(digest))));
    }

    /// @notice The version of this contract.
    /// @return The semantic version string, "2.0.0".
    function version() external pure returns (string memory) {
        return "2.0.0";
    }

    /// @dev Split in steps: calldata arrays take two stack slots each, which one function cannot hold.
    function _changeStatus(
        bytes32 root,
        bytes32[] calldata digests,
        bytes32[] calldata proof,
        bool[] calldata proofFlags,
        CredentialStatus to,
        uint8 reason
    ) private {
        if (_anchors[msg.sender][root].leafCount == 0) revert UnknownRoot(msg.sender, root);
        _requireIncluded(root, digests, proof, proofFlags);
        _applyStatus(root, digests, to, reason);
    }

    function _requireIncluded(
        bytes32 root,
        bytes32[] calldata digests,
        bytes32[] calldata proof,
        bool[] calldata proofFlags
    ) private view {
        uint256 n = digests.length;
        if (n == 0 || n > MAX_STATUS_BATCH) revert InvalidBatchSize(n, MAX_STATUS_BATCH);
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            leaves[i] = leafHash(digests[i]);
        }
        if (!MerkleProof.multiProofVerifyCalldata(proof, proofFlags, root, leaves)) {
            revert InvalidProof(msg.sender, root);
        }
    }

    function _applyStatus(bytes32 root, bytes32[] calldata digests, CredentialStatus to, uint8 reason) private {
        mapping(bytes32 => StatusRecord) storage statuses = _statuses[msg.sender][root];
        uint256 n = digests.length;
        for (uint256 i = 0; i < n; ++i) {
            bytes32 digest = digests[i];
            StatusRecord storage record = statuses[digest];
            CredentialStatus current = record.status;
            bool allowed = to == CredentialStatus.Valid
                ? current == CredentialStatus.Suspended
                : current != CredentialStatus.Revoked && current != to;
            if (!allowed) revert InvalidCredentialStatus(digest, current, to);
            statuses[digest] = StatusRecord(to, reason, uint48(block.timestamp), uint48(block.number));
            emit CredentialStatusChanged(msg.sender, root, digest, to, reason);
        }
    }
}
