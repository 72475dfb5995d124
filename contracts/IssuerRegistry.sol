// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IssuerRegistry
/// @notice Accreditation chain of trusted issuers, modelled on EBSI's Trusted Issuers Registry:
///         RootTAO -> TAO (accreditation body, QA agency) -> TI (trusted issuer, a university).
/// @dev Every status change is appended to a per-issuer history so that "was X an active TI at
///      time T" is answerable on chain forever. Entries are never deleted and revocation is final.
///      The trust check used by anchoring (`isActiveTI`) reads a single packed storage slot.
contract IssuerRegistry {
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

    /// @notice One entry of an issuer's status history (one slot: 5 + 6 + 1 + 20 bytes).
    struct StatusChange {
        uint40 timestamp;
        uint48 blockNumber;
        Status status;
        address by;
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

    mapping(address => Core) private _core;
    mapping(address => Details) private _details;
    mapping(address => StatusChange[]) private _history;
    address[] private _accounts;

    /// @notice Emitted when an account joins the registry.
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
    event IssuerStatusChanged(
        address indexed account,
        address indexed by,
        Status previousStatus,
        Status newStatus,
        bytes32 reasonHash
    );

    /// @notice The caller may not accredit an entry of this kind.
    error NotAccreditor(address caller, Kind kind);
    /// @notice The caller is neither the entry's accreditor nor an active RootTAO.
    error NotAuthorized(address caller, address account);
    /// @notice The account already has an entry (entries are never reused, even after revocation).
    error AlreadyRegistered(address account);
    /// @notice The account has no entry.
    error UnknownIssuer(address account);
    /// @notice The requested kind is not RootTAO, TAO or TI.
    error InvalidKind(Kind kind);
    /// @notice The validity window is empty or the account is the zero address.
    error InvalidAccreditation();
    /// @notice The transition is not allowed from the entry's current status.
    error InvalidStatusTransition(address account, Status current, Status requested);

    /// @param rootTAO The first RootTAO (the alliance's governance key).
    /// @param did The RootTAO's DID.
    /// @param documentHash Hash of the document that founds the registry.
    constructor(address rootTAO, string memory did, bytes32 documentHash) {
        if (rootTAO == address(0)) revert InvalidAccreditation();
        _register(rootTAO, address(0), Kind.RootTAO, did, uint40(block.timestamp), 0, documentHash, "*");
    }

    /// @notice Accredits `account` as `kind`.
    /// @dev Only an active RootTAO accredits RootTAOs and TAOs; an active TAO or RootTAO accredits TIs.
    /// @param account The address that will sign for the new entry.
    /// @param kind RootTAO, TAO or TI.
    /// @param did The entry's DID string.
    /// @param validFrom Start of validity (unix seconds); 0 means now.
    /// @param validUntil End of validity (unix seconds, exclusive); 0 means open-ended.
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
        if (!_mayAccredit(msg.sender, kind)) revert NotAccreditor(msg.sender, kind);
        if (account == address(0)) revert InvalidAccreditation();
        uint40 from = validFrom == 0 ? uint40(block.timestamp) : validFrom;
        if (validUntil != 0 && validUntil <= from) revert InvalidAccreditation();
        if (_core[account].kind != Kind.None) revert AlreadyRegistered(account);
        _register(account, msg.sender, kind, did, from, validUntil, documentHash, scope);
    }

    /// @notice Temporarily suspends an active entry.
    /// @param account The entry to suspend.
    /// @param reasonHash keccak256 of a reason document (or zero).
    function suspend(address account, bytes32 reasonHash) external {
        _transition(account, Status.Active, Status.Suspended, reasonHash);
    }

    /// @notice Reinstates a suspended entry.
    /// @param account The entry to reinstate.
    /// @param reasonHash keccak256 of a reason document (or zero).
    function reinstate(address account, bytes32 reasonHash) external {
        _transition(account, Status.Suspended, Status.Active, reasonHash);
    }

    /// @notice Revokes an entry for good.
    /// @param account The entry to revoke (active or suspended).
    /// @param reasonHash keccak256 of a reason document (or zero).
    function revoke(address account, bytes32 reasonHash) external {
        Status current = _core[account].status;
        if (current == Status.Suspended) {
            _transition(account, Status.Suspended, Status.Revoked, reasonHash);
        } else {
            _transition(account, Status.Active, Status.Revoked, reasonHash);
        }
    }

    /// @notice True when `account` is a TI that is active and within its validity window now.
    /// @dev The trust check for anchoring: one storage slot.
    /// @param account The address to check.
    function isActiveTI(address account) external view returns (bool) {
        Core memory c = _core[account];
        return c.kind == Kind.TI && c.status == Status.Active && _withinValidity(c, block.timestamp);
    }

    /// @notice Status of `account` at unix time `timestamp`, from its on-chain history.
    /// @param account The address to look up.
    /// @param timestamp Unix seconds.
    /// @return The status in force at that time (None before accreditation).
    function statusAt(address account, uint256 timestamp) public view returns (Status) {
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

    /// @notice True when `account` was an active TI within its validity window at unix time `timestamp`.
    /// @param account The address to check.
    /// @param timestamp Unix seconds.
    function wasActiveTIAt(address account, uint256 timestamp) external view returns (bool) {
        Core memory c = _core[account];
        return c.kind == Kind.TI && statusAt(account, timestamp) == Status.Active && _withinValidity(c, timestamp);
    }

    /// @notice The full entry for `account`.
    /// @param account The address to look up.
    function getIssuer(address account) external view returns (IssuerView memory) {
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
    function historyAt(address account, uint256 index) external view returns (StatusChange memory) {
        return _history[account][index];
    }

    /// @notice The complete status history of `account`.
    /// @param account The address to look up.
    function history(address account) external view returns (StatusChange[] memory) {
        return _history[account];
    }

    /// @notice Number of entries ever registered.
    function issuerCount() external view returns (uint256) {
        return _accounts.length;
    }

    /// @notice The address of the `index`-th registered entry, in registration order.
    /// @param index Position in registration order.
    function issuerAt(uint256 index) external view returns (address) {
        return _accounts[index];
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
        emit IssuerAccredited(account, accreditor, kind, did, validFrom, validUntil, documentHash, scope);
    }

    function _transition(address account, Status from, Status to, bytes32 reasonHash) private {
        Core storage c = _core[account];
        if (c.kind == Kind.None) revert UnknownIssuer(account);
        if (msg.sender != c.accreditor && !_isActiveRoot(msg.sender)) revert NotAuthorized(msg.sender, account);
        if (c.status != from) revert InvalidStatusTransition(account, c.status, to);
        c.status = to;
        _history[account].push(StatusChange(uint40(block.timestamp), uint48(block.number), to, msg.sender));
        emit IssuerStatusChanged(account, msg.sender, from, to, reasonHash);
    }

    function _mayAccredit(address caller, Kind kind) private view returns (bool) {
        Core memory c = _core[caller];
        if (c.status != Status.Active || !_withinValidity(c, block.timestamp)) return false;
        if (kind == Kind.TI) return c.kind == Kind.TAO || c.kind == Kind.RootTAO;
        return c.kind == Kind.RootTAO;
    }

    function _isActiveRoot(address caller) private view returns (bool) {
        Core memory c = _core[caller];
        return c.kind == Kind.RootTAO && c.status == Status.Active && _withinValidity(c, block.timestamp);
    }

    function _withinValidity(Core memory c, uint256 timestamp) private pure returns (bool) {
        return c.validFrom <= timestamp && (c.validUntil == 0 || timestamp < c.validUntil);
    }
}
