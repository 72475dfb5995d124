// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ITrustedIssuers} from "./interfaces/ITrustedIssuers.sol";

/// @title IssuerRegistry (version 2.0.0)
/// @notice Accreditation chain of trusted issuers, modelled on EBSI's Trusted Issuers Registry:
///         RootTAO -> TAO (accreditation body, QA agency) -> TI (trusted issuer, a university), plus the
///         verification keys each entry signs its W3C Verifiable Credentials with.
/// @dev Rules:
///      - Only an active RootTAO accredits RootTAOs and TAOs; an active TAO or an active RootTAO accredits TIs.
///      - "Active" (in good standing) always means: status Active AND `block.timestamp` inside the validity window.
///      - An entry is suspended, reinstated or revoked by its accreditor while the accreditor is itself active,
///        or by any active RootTAO (which can always act, on every entry, other RootTAOs included).
///      - The registry never loses its last active RootTAO: suspending or revoking the only active RootTAO
///        reverts with `LastRootTAO`. RootTAO entries are open-ended and valid from their accreditation on, so
///        an active RootTAO can never expire into a lock-out.
///      - Governance and recovery: production deployments should accredit several RootTAOs (held by different
///        alliance members) and/or use a multi-signature wallet (for example a Safe with an m-of-n threshold) as
///        RootTAO. With two or more active RootTAOs an honest one suspends or revokes a compromised one; a
///        multi-signature RootTAO survives the loss or theft of single member keys. A registry with one
///        externally owned RootTAO has no recovery path if that key is lost.
///      - Every status change is appended to a per-entry history (one slot each) so that "was X an active TI at
///        time T" is answerable on chain forever. Entries are never deleted or reused; revocation is final.
///      - Reasons for status changes are free text carried in the `IssuerStatusChanged` event (with their
///        keccak256); they are not stored.
///      - Not upgradeable on purpose: immutability is part of the trust story.
contract IssuerRegistry is ITrustedIssuers {
    /// @notice Role of an entry in the accreditation chain.
    enum Kind {
        None,
        RootTAO,
        TAO,
        TI
    }

    /// @notice Status of an entry. `Revoked` is final; `Suspended` can be reinstated.
    enum Status {
        None,
        Active,
        Suspended,
        Revoked
    }

    /// @dev One slot: the hot path of `isActiveTI` (20 + 1 + 1 + 5 + 5 = 32 bytes).
    struct Core {
        address accreditor;
        Kind kind;
        Status status;
        uint40 validFrom;
        uint40 validUntil; // 0 = open-ended
    }

    /// @dev Descriptive data, read only by audits and UIs.
    struct Details {
        bytes32 documentHash; // keccak256 of the accreditation document the accreditor holds
        string did;
        string scope;
    }

    /// @notice One entry of an issuer's status history (one slot: 5 + 6 + 1 + 20 bytes). The reason text of
    ///         the change is in the matching `IssuerStatusChanged` event only.
    struct StatusChange {
        uint40 timestamp;
        uint48 blockNumber;
        Status status;
        address by;
    }

    /// @notice One verification key of one entry (one slot: 4 x 6 bytes). Zero `addedBlock` means unknown;
    ///         zero `revokedBlock` means not revoked.
    struct KeyRecord {
        uint48 addedAt;
        uint48 addedBlock;
        uint48 revokedAt;
        uint48 revokedBlock;
    }

    /// @notice Everything known about one issuer, as returned by `getIssuer`.
    struct IssuerView {
        address account;
        Kind kind;
        Status status;
        address accreditor;
        uint40 validFrom;
        uint40 validUntil;
        bytes32 documentHash;
        string did;
        string scope;
        uint256 historyLength;
    }

    mapping(address account => Core) private _core;
    mapping(address account => Details) private _details;
    mapping(address account => StatusChange[]) private _history;
    mapping(address account => mapping(bytes32 keyHash => KeyRecord)) private _keys;
    mapping(address account => bytes32[]) private _keyHashes;
    address[] private _accounts;
    uint256 private _activeRootTAOCount;

    /// @notice Emitted when an account joins the registry.
    /// @param account The accredited address.
    /// @param accreditor The address that accredited it (zero for the founding RootTAO).
    /// @param kind RootTAO, TAO or TI.
    /// @param did The entry's DID string.
    /// @param validFrom Start of validity (unix seconds).
    /// @param validUntil End of validity (unix seconds, exclusive); 0 means open-ended.
    /// @param documentHash keccak256 of the accreditation document.
    /// @param scope What the entry may issue or accredit.
    event IssuerAccredited(
        address indexed account,
        address indexed accreditor,
        Kind kind,
        string did,
        uint40 validFrom,
        uint40 validUntil,
        bytes32 documentHash,
        string scope
    );

    /// @notice Emitted on every status change after accreditation (suspend, reinstate, revoke).
    /// @param account The entry whose status changed.
    /// @param by The address that changed it.
    /// @param previousStatus The status before the change.
    /// @param newStatus The status after the change.
    /// @param reason The reason, in words (not stored on chain).
    /// @param reasonHash keccak256 of the UTF-8 bytes of `reason`.
    event IssuerStatusChanged(
        address indexed account,
        address indexed by,
        Status previousStatus,
        Status newStatus,
        string reason,
        bytes32 reasonHash
    );

    /// @notice Emitted when a verification key is bound to an entry.
    /// @param account The entry the key belongs to.
    /// @param keyHash keccak256 of the key's `publicKeyMultibase` string (UTF-8 bytes).
    /// @param by The address that added it (the account, its accreditor or a RootTAO).
    event VerificationKeyAdded(address indexed account, bytes32 indexed keyHash, address indexed by);

    /// @notice Emitted when a verification key of an entry is revoked (final).
    /// @param account The entry the key belongs to.
    /// @param keyHash keccak256 of the key's `publicKeyMultibase` string (UTF-8 bytes).
    /// @param by The address that revoked it (the account, its accreditor or a RootTAO).
    event VerificationKeyRevoked(address indexed account, bytes32 indexed keyHash, address indexed by);

    /// @notice The caller's kind may not accredit entries of the requested kind.
    /// @param caller The caller.
    /// @param callerKind The caller's kind (None when it has no entry).
    /// @param requestedKind The kind it tried to accredit.
    error NotAccreditor(address caller, Kind callerKind, Kind requestedKind);
    /// @notice The caller is neither an active RootTAO, nor the entry's accreditor, nor (where allowed) the
    ///         entry itself.
    /// @param caller The caller.
    /// @param account The entry it tried to act on.
    error NotAuthorized(address caller, address account);
    /// @notice The caller holds the role for this action but is not Active (it is suspended or revoked).
    /// @param caller The caller.
    /// @param status The caller's current status.
    error InactiveCaller(address caller, Status status);
    /// @notice The caller holds the role for this action and is Active, but outside its validity window
    ///         (expired, or not yet valid).
    /// @param caller The caller.
    /// @param validFrom Start of its validity (unix seconds).
    /// @param validUntil End of its validity (unix seconds, exclusive).
    error CallerOutsideValidity(address caller, uint40 validFrom, uint40 validUntil);
    /// @notice The account already has an entry (entries are never reused, even after revocation).
    /// @param account The account.
    error AlreadyRegistered(address account);
    /// @notice The account has no entry.
    /// @param account The account.
    error UnknownIssuer(address account);
    /// @notice The requested kind is not RootTAO, TAO or TI.
    /// @param kind The requested kind.
    error InvalidKind(Kind kind);
    /// @notice The zero address cannot be accredited.
    error ZeroAccount();
    /// @notice The validity window is empty (`validUntil` at or before the start).
    /// @param validFrom Requested start (0 means now).
    /// @param validUntil Requested end.
    error InvalidValidityWindow(uint40 validFrom, uint40 validUntil);
    /// @notice A RootTAO must be open-ended (`validUntil == 0`) and valid from now (`validFrom` 0 or not in the
    ///         future), so that an active RootTAO can never expire into a lock-out.
    /// @param validFrom Requested start.
    /// @param validUntil Requested end.
    error InvalidRootTAOValidity(uint40 validFrom, uint40 validUntil);
    /// @notice The transition is not allowed from the entry's current status.
    /// @param account The entry.
    /// @param current Its current status.
    /// @param requested The status asked for.
    error InvalidStatusTransition(address account, Status current, Status requested);
    /// @notice The change would leave the registry without an active RootTAO.
    /// @param account The only active RootTAO.
    error LastRootTAO(address account);
    /// @notice The key hash is zero.
    error InvalidKeyHash();
    /// @notice The key was added to this entry before (a revoked key cannot be added again).
    /// @param account The entry.
    /// @param keyHash The key hash.
    error KeyAlreadyAdded(address account, bytes32 keyHash);
    /// @notice The key was never added to this entry.
    /// @param account The entry.
    /// @param keyHash The key hash.
    error UnknownKey(address account, bytes32 keyHash);
    /// @notice The key is revoked already.
    /// @param account The entry.
    /// @param keyHash The key hash.
    error KeyAlreadyRevoked(address account, bytes32 keyHash);
    /// @notice A list index is out of range.
    /// @param index The index asked for.
    /// @param length The length of the list.
    error IndexOutOfRange(uint256 index, uint256 length);

    /// @notice Founds the registry with its first RootTAO (open-ended, valid from now).
    /// @dev Accredit further RootTAOs, or make `rootTAO` a multi-signature wallet, before relying on the
    ///      registry in production: see the contract documentation on recovery.
    /// @param rootTAO The first RootTAO (the alliance's governance key or multi-signature wallet).
    /// @param did The RootTAO's DID.
    /// @param documentHash Hash of the document that founds the registry.
    constructor(address rootTAO, string memory did, bytes32 documentHash) {
        if (rootTAO == address(0)) revert ZeroAccount();
        _register(rootTAO, address(0), Kind.RootTAO, did, uint40(block.timestamp), 0, documentHash, "*");
    }

    /// @notice Accredits `account` as `kind`.
    /// @dev Only an active RootTAO accredits RootTAOs and TAOs; an active TAO or an active RootTAO accredits
    ///      TIs. A RootTAO must be open-ended and valid from now. Checks run in the order: input, caller, state.
    /// @param account The address that will sign for the new entry.
    /// @param kind RootTAO, TAO or TI.
    /// @param did The entry's DID string.
    /// @param validFrom Start of validity (unix seconds); 0 means now.
    /// @param validUntil End of validity (unix seconds, exclusive); 0 means open-ended (required for a RootTAO).
    /// @param documentHash keccak256 of the accreditation document.
    /// @param scope What the entry may issue or accredit (e.g. JSON: credential types, EQF levels, jurisdiction).
    function accredit(
        address account,
        Kind kind,
        string calldata did,
        uint40 validFrom,
        uint40 validUntil,
        bytes32 documentHash,
        string calldata scope
    ) external {
        if (kind == Kind.None) revert InvalidKind(kind);
        if (account == address(0)) revert ZeroAccount();
        uint40 from = validFrom == 0 ? uint40(block.timestamp) : validFrom;
        if (kind == Kind.RootTAO) {
            if (validUntil != 0 || from > block.timestamp) revert InvalidRootTAOValidity(validFrom, validUntil);
        } else if (validUntil != 0 && validUntil <= from) {
            revert InvalidValidityWindow(validFrom, validUntil);
        }
        Core memory caller = _core[msg.sender];
        bool kindAllowed = kind == Kind.TI
            ? caller.kind == Kind.RootTAO || caller.kind == Kind.TAO
            : caller.kind == Kind.RootTAO;
        if (!kindAllowed) revert NotAccreditor(msg.sender, caller.kind, kind);
        _requireGoodStanding(msg.sender, caller);
        if (_core[account].kind != Kind.None) revert AlreadyRegistered(account);
        _register(account, msg.sender, kind, did, from, validUntil, documentHash, scope);
    }

    /// @notice Temporarily suspends an active entry.
    /// @dev By the entry's accreditor while it is active, or by any active RootTAO. Suspending the only active
    ///      RootTAO reverts with `LastRootTAO`.
    /// @param account The entry to suspend.
    /// @param reason The reason, in words (emitted, not stored).
    function suspend(address account, string calldata reason) external {
        _transition(account, Status.Suspended, reason);
    }

    /// @notice Reinstates a suspended entry.
    /// @dev By the entry's accreditor while it is active, or by any active RootTAO.
    /// @param account The entry to reinstate.
    /// @param reason The reason, in words (emitted, not stored).
    function reinstate(address account, string calldata reason) external {
        _transition(account, Status.Active, reason);
    }

    /// @notice Revokes an active or suspended entry for good.
    /// @dev By the entry's accreditor while it is active, or by any active RootTAO. Revoking the only active
    ///      RootTAO reverts with `LastRootTAO`.
    /// @param account The entry to revoke.
    /// @param reason The reason, in words (emitted, not stored).
    function revoke(address account, string calldata reason) external {
        _transition(account, Status.Revoked, reason);
    }

    /// @notice Binds a verification key (the key that signs the entry's Verifiable Credentials) to `account`.
    /// @dev By the account itself while it is active (any kind), by its accreditor while the accreditor is
    ///      active, or by any active RootTAO. A key can be added once; a revoked key cannot be added again.
    /// @param account The entry the key belongs to.
    /// @param keyHash keccak256 of the key's `publicKeyMultibase` string (UTF-8 bytes).
    function addVerificationKey(address account, bytes32 keyHash) external {
        if (keyHash == bytes32(0)) revert InvalidKeyHash();
        Core memory target = _core[account];
        if (target.kind == Kind.None) revert UnknownIssuer(account);
        if (msg.sender == account) {
            _requireGoodStanding(account, target);
        } else {
            _requireManager(account, target);
        }
        if (_keys[account][keyHash].addedBlock != 0) revert KeyAlreadyAdded(account, keyHash);
        _keys[account][keyHash] = KeyRecord(uint48(block.timestamp), uint48(block.number), 0, 0);
        _keyHashes[account].push(keyHash);
        emit VerificationKeyAdded(account, keyHash, msg.sender);
    }

    /// @notice Revokes a verification key of `account` for good.
    /// @dev By the account itself in any status (a compromised key must always be revocable by its owner), by
    ///      its accreditor while the accreditor is active, or by any active RootTAO.
    /// @param account The entry the key belongs to.
    /// @param keyHash keccak256 of the key's `publicKeyMultibase` string (UTF-8 bytes).
    function revokeVerificationKey(address account, bytes32 keyHash) external {
        Core memory target = _core[account];
        if (target.kind == Kind.None) revert UnknownIssuer(account);
        if (msg.sender != account) _requireManager(account, target);
        KeyRecord storage key = _keys[account][keyHash];
        if (key.addedBlock == 0) revert UnknownKey(account, keyHash);
        if (key.revokedBlock != 0) revert KeyAlreadyRevoked(account, keyHash);
        key.revokedAt = uint48(block.timestamp);
        key.revokedBlock = uint48(block.number);
        emit VerificationKeyRevoked(account, keyHash, msg.sender);
    }

    /// @inheritdoc ITrustedIssuers
    function isActiveTI(address account) external view returns (bool active) {
        Core memory c = _core[account];
        return c.kind == Kind.TI && c.status == Status.Active && _withinValidity(c, block.timestamp);
    }

    /// @inheritdoc ITrustedIssuers
    function isRegisteredTI(address account) external view returns (bool registered) {
        return _core[account].kind == Kind.TI;
    }

    /// @notice Number of RootTAOs whose status is Active (never below one).
    /// @return count The number of active RootTAOs.
    function activeRootTAOCount() external view returns (uint256 count) {
        return _activeRootTAOCount;
    }

    /// @notice Status of `account` at unix time `timestamp`, from its on-chain history.
    /// @param account The address to look up.
    /// @param timestamp Unix seconds.
    /// @return status The status in force at that time (None before accreditation or for unknown accounts).
    function statusAt(address account, uint256 timestamp) public view returns (Status status) {
        StatusChange[] storage h = _history[account];
        // Binary search for the last change at or before `timestamp`.
        uint256 low = 0;
        uint256 high = h.length;
        while (low < high) {
            uint256 mid = (low + high) / 2;
            if (h[mid].timestamp > timestamp) {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        return low == 0 ? Status.None : h[low - 1].status;
    }

    /// @notice Whether `account` was an active TI within its validity window at unix time `timestamp`.
    /// @param account The address to check.
    /// @param timestamp Unix seconds.
    /// @return active True when `account` is a TI, its status at `timestamp` was Active and `timestamp` lies in
    ///         its validity window.
    function wasActiveTIAt(address account, uint256 timestamp) external view returns (bool active) {
        Core memory c = _core[account];
        return c.kind == Kind.TI && statusAt(account, timestamp) == Status.Active && _withinValidity(c, timestamp);
    }

    /// @notice The full entry for `account`; reverts `UnknownIssuer` for an account without entry.
    /// @param account The address to look up.
    /// @return issuer The entry: kind, status, accreditor, validity, document hash, DID, scope, history length.
    function getIssuer(address account) external view returns (IssuerView memory issuer) {
        Core memory c = _core[account];
        if (c.kind == Kind.None) revert UnknownIssuer(account);
        Details storage d = _details[account];
        return IssuerView({
            account: account,
            kind: c.kind,
            status: c.status,
            accreditor: c.accreditor,
            validFrom: c.validFrom,
            validUntil: c.validUntil,
            documentHash: d.documentHash,
            did: d.did,
            scope: d.scope,
            historyLength: _history[account].length
        });
    }

    /// @notice The `index`-th status change of `account` (0 is its accreditation).
    /// @param account The address to look up.
    /// @param index Position in the history.
    /// @return change The status change: timestamp, block number, new status, and who made it.
    function historyAt(address account, uint256 index) external view returns (StatusChange memory change) {
        StatusChange[] storage h = _history[account];
        if (index >= h.length) revert IndexOutOfRange(index, h.length);
        return h[index];
    }

    /// @notice The complete status history of `account`.
    /// @param account The address to look up.
    /// @return changes Every status change, oldest first (empty for unknown accounts).
    function history(address account) external view returns (StatusChange[] memory changes) {
        return _history[account];
    }

    /// @notice Number of entries ever registered.
    /// @return count The number of entries, revoked ones included.
    function issuerCount() external view returns (uint256 count) {
        return _accounts.length;
    }

    /// @notice The address of the `index`-th registered entry, in registration order.
    /// @param index Position in registration order.
    /// @return account The entry's address.
    function issuerAt(uint256 index) external view returns (address account) {
        if (index >= _accounts.length) revert IndexOutOfRange(index, _accounts.length);
        return _accounts[index];
    }

    /// @notice The record of one verification key of `account` (all zero when never added).
    /// @param account The entry the key belongs to.
    /// @param keyHash keccak256 of the key's `publicKeyMultibase` string (UTF-8 bytes).
    /// @return key When (time and block) the key was added and revoked; zero revocation fields if not revoked.
    function verificationKey(address account, bytes32 keyHash) external view returns (KeyRecord memory key) {
        return _keys[account][keyHash];
    }

    /// @notice Whether the key was bound to `account` at block `blockNumber`: added at or before that block and
    ///         not revoked at or before it.
    /// @dev Says nothing about the entry's own status: check that with `statusAt` / `wasActiveTIAt`.
    /// @param account The entry the key belongs to.
    /// @param keyHash keccak256 of the key's `publicKeyMultibase` string (UTF-8 bytes).
    /// @param blockNumber The block to evaluate at (for example the block that anchored the credential).
    /// @return valid True when the key was valid for `account` at `blockNumber`.
    function wasKeyValidAt(address account, bytes32 keyHash, uint256 blockNumber) external view returns (bool valid) {
        KeyRecord memory k = _keys[account][keyHash];
        return k.addedBlock != 0 && k.addedBlock <= blockNumber && (k.revokedBlock == 0 || k.revokedBlock > blockNumber);
    }

    /// @notice Number of verification keys ever added to `account`, revoked ones included.
    /// @param account The entry.
    /// @return count The number of key hashes.
    function verificationKeyCount(address account) external view returns (uint256 count) {
        return _keyHashes[account].length;
    }

    /// @notice The `index`-th key hash added to `account`, in order of addition.
    /// @param account The entry.
    /// @param index Position in order of addition.
    /// @return keyHash The key hash (look its record up with `verificationKey`).
    function verificationKeyAt(address account, uint256 index) external view returns (bytes32 keyHash) {
        bytes32[] storage list = _keyHashes[account];
        if (index >= list.length) revert IndexOutOfRange(index, list.length);
        return list[index];
    }

    /// @notice The version of this contract.
    /// @return The semantic version string, "2.0.0".
    function version() external pure returns (string memory) {
        return "2.0.0";
    }

    function _register(
        address account,
        address accreditor,
        Kind kind,
        string memory did,
        uint40 validFrom,
        uint40 validUntil,
        bytes32 documentHash,
        string memory scope
    ) private {
        _core[account] = Core(accreditor, kind, Status.Active, validFrom, validUntil);
        _details[account] = Details(documentHash, did, scope);
        _history[account].push(StatusChange(uint40(block.timestamp), uint48(block.number), Status.Active, accreditor));
        _accounts.push(account);
        if (kind == Kind.RootTAO) ++_activeRootTAOCount;
        emit IssuerAccredited(account, accreditor, kind, did, validFrom, validUntil, documentHash, scope);
    }

    function _transition(address account, Status to, string calldata reason) private {
        Core memory c = _core[account];
        if (c.kind == Kind.None) revert UnknownIssuer(account);
        _requireManager(account, c);
        Status from = c.status;
        bool allowed = to == Status.Revoked
            ? from == Status.Active || from == Status.Suspended
            : from == (to == Status.Active ? Status.Suspended : Status.Active);
        if (!allowed) revert InvalidStatusTransition(account, from, to);
        if (c.kind == Kind.RootTAO) {
            if (from == Status.Active) {
                if (_activeRootTAOCount <= 1) revert LastRootTAO(account);
                --_activeRootTAOCount;
            } else if (to == Status.Active) {
                ++_activeRootTAOCount;
            }
        }
        _core[account].status = to;
        _history[account].push(StatusChange(uint40(block.timestamp), uint48(block.number), to, msg.sender));
        emit IssuerStatusChanged(account, msg.sender, from, to, reason, keccak256(bytes(reason)));
    }

    /// @dev Reverts unless the caller may manage `account`: any active RootTAO, or the entry's accreditor while
    ///      the accreditor is active.
    function _requireManager(address account, Core memory target) private view {
        Core memory caller = _core[msg.sender];
        if (caller.kind == Kind.RootTAO && _inGoodStanding(caller)) return;
        if (msg.sender != target.accreditor) revert NotAuthorized(msg.sender, account);
        _requireGoodStanding(msg.sender, caller);
    }

    function _requireGoodStanding(address who, Core memory c) private view {
        if (c.status != Status.Active) revert InactiveCaller(who, c.status);
        if (!_withinValidity(c, block.timestamp)) revert CallerOutsideValidity(who, c.validFrom, c.validUntil);
    }

    function _inGoodStanding(Core memory c) private view returns (bool) {
        return c.status == Status.Active && _withinValidity(c, block.timestamp);
    }

    function _withinValidity(Core memory c, uint256 timestamp) private pure returns (bool) {
        return c.validFrom <= timestamp && (c.validUntil == 0 || timestamp < c.validUntil);
    }
}
