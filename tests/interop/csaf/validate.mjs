// BSI's CSAF 2.0 validator (@secvisogram/csaf-validator-lib): the strict CSAF 2.0 schema and
// every mandatory test (§6.1), over the documents named on the command line. Prints one JSON
// array: [{"file", "isValid", "failed": [{"name", "errors": [{"instancePath", "message"}]}]}].
//
// The library is looked up in $ATALAYA_CSAF_VALIDATOR_DIR/node_modules (set by `cargo xtask
// test`), else next to this script (`npm ci` here).
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const dir = process.env.ATALAYA_CSAF_VALIDATOR_DIR || dirname(fileURLToPath(import.meta.url))
const lib = (f) => import(pathToFileURL(join(dir, 'node_modules/@secvisogram/csaf-validator-lib', f)).href)

const { default: validate } = await lib('validate.js')
const schemaTests = await lib('schemaTests.js')
const mandatoryTests = await lib('mandatoryTests.js')
const tests = [schemaTests.csaf_2_0_strict, ...Object.values(mandatoryTests)]

const out = []
for (const file of process.argv.slice(2)) {
  const doc = JSON.parse(await readFile(file, 'utf8'))
  const result = await validate(tests, doc)
  out.push({
    file,
    isValid: result.isValid,
    failed: result.tests
      .filter((t) => !t.isValid)
      .map((t) => ({
        name: t.name,
        errors: t.errors.map((e) => ({ instancePath: e.instancePath, message: e.message })),
      })),
  })
}
process.stdout.write(JSON.stringify(out, null, 1) + '\n')
