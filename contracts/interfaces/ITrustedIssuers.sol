// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title ITrustedIssuers
/// @notice The part of the issuer registry that CredentialAnchor depends on: is an account a trusted issuer
///         (TI), and may it issue right now?
/// @dev Kept minimal on purpose so that anchor contracts of later versions can run against the same registry,
///      and so that the trust check on the anchoring hot path stays one external call reading one storage slot.
interface ITrustedIssuers {
    /// @notice Whether `account` is a TI that is Active and within its validity window now.
    /// @dev The trust check for anchoring and for suspending or reinstating credentials; reads one slot.
    /// @param account The address to check.
    /// @return active True when `account` is a TI, its status is Active and `block.timestamp` lies in its
    ///         validity window.
    function isActiveTI(address account) external view returns (bool active);

    /// @notice Whether `account` has ever been accredited as a TI, whatever its status now (Active, Suspended
    ///         or Revoked) and whatever its validity window.
    /// @dev Lets an issuer that lost its accreditation keep publishing the revocations it owes its learners.
    /// @param account The address to check.
    /// @return registered True when `account` has a registry entry of kind TI.
    function isRegisteredTI(address account) external view returns (bool registered);
}
