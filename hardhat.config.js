// Compiles contracts/ offline with the solc-js build from the npm package `solc`.
// Hardhat 2 would otherwise download a native compiler; the subtask override below hands it
// the local soljson.js instead, so a machine that reaches only the npm registry can compile.
const { subtask } = require("hardhat/config");
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require("hardhat/builtin-tasks/task-names");
const solc = require("solc");

const SOLC_VERSION = "0.8.28";

subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args, _hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) {
    return runSuper();
  }
  return {
    compilerPath: require.resolve("solc/soljson.js"),
    isSolcJs: true,
    version: args.solcVersion,
    longVersion: solc.version(),
  };
});

/** @type import('hardhat/config').HardhatUserConfig */
module.exports = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      // Permissioned Besu networks (EBSI-like) run the Paris fork: no PUSH0, no transient storage.
      evmVersion: "paris",
      optimizer: { enabled: true, runs: 10000 },
    },
  },
  // `credreg chain up --kind hardhat` (node/dev/chains.py) runs `hardhat node`; the dev keys are random and funded
  // through hardhat_setBalance (CREDREG_HH_MNEMONIC, if set, replaces the built-in test accounts)
  networks: {
    hardhat: {
      chainId: Number(process.env.CREDREG_HH_CHAIN_ID || 31337),
      ...(process.env.CREDREG_HH_MNEMONIC
        ? {
            accounts: {
              mnemonic: process.env.CREDREG_HH_MNEMONIC,
              count: Number(process.env.CREDREG_HH_ACCOUNTS || 10),
            },
          }
        : {}),
    },
  },
  paths: {
    sources: "./contracts",
    artifacts: process.env.CREDREG_HH_ARTIFACTS || "./hh-artifacts",
    cache: process.env.CREDREG_HH_CACHE || "./cache",
  },
};
