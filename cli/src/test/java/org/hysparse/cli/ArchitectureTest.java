package org.hysparse.cli;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/**
 * The module rules, checked on the compiled main classes of every module on this classpath (the CLI
 * sees them all). Backends are tested as packages: org.hysparse.backend.NAME.
 */
class ArchitectureTest {
    private static final JavaClasses CLASSES = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(location -> !location.contains("/test-classes/"))
            .importPackages("org.hysparse");

    @Test
    void theImportSeesEveryModule() {
        for (String pkg : new String[] {"org.hysparse.api", "org.hysparse.reference", "org.hysparse.backend.cpu", "org.hysparse.conformance", "org.hysparse.cli"}) {
            org.junit.jupiter.api.Assertions.assertTrue(CLASSES.containPackage(pkg), pkg + " not imported: the rules below would pass vacuously");
        }
    }

    @Test
    void apiDependsOnTheJdkOnly() {
        noClasses().that().resideInAPackage("org.hysparse.api..")
                .should().dependOnClassesThat().resideOutsideOfPackages("org.hysparse.api..", "java..", "javax..")
                .check(CLASSES);
    }

    @Test
    void referenceDependsOnApiAndCommonsMathOnly() {
        noClasses().that().resideInAPackage("org.hysparse.reference..")
                .should().dependOnClassesThat().resideOutsideOfPackages("org.hysparse.reference..", "org.hysparse.api..",
                        "org.apache.commons.math3..", "java..")
                .check(CLASSES);
    }

    @Test
    void backendsDependOnApiAndTheirOwnLibrariesOnly() {
        // com.sun.management: the JDK's own HotSpot diagnostic bean, where the cpu backend reads whether the JVM uses FMA.
        noClasses().that().resideInAPackage("org.hysparse.backend.cpu..")
                .should().dependOnClassesThat().resideOutsideOfPackages("org.hysparse.backend.cpu..", "org.hysparse.api..",
                        "jdk.incubator.vector..", "com.sun.management..", "java..")
                .check(CLASSES);
        noClasses().that().resideInAPackage("org.hysparse.backend.tornado..")
                .should().dependOnClassesThat().resideOutsideOfPackages("org.hysparse.backend.tornado..", "org.hysparse.api..",
                        "uk.ac.manchester.tornado..", "java..")
                .allowEmptyShould(true)
                .check(CLASSES);
    }

    @Test
    void nothingDependsOnABackend() {
        noClasses().that().resideOutsideOfPackage("org.hysparse.backend.cpu..")
                .should().dependOnClassesThat().resideInAPackage("org.hysparse.backend.cpu..").check(CLASSES);
        noClasses().that().resideOutsideOfPackage("org.hysparse.backend.tornado..")
                .should().dependOnClassesThat().resideInAPackage("org.hysparse.backend.tornado..").check(CLASSES);
    }

    @Test
    void conformanceKitDependsOnApiAndReferenceOnly() {
        noClasses().that().resideInAPackage("org.hysparse.conformance..")
                .should().dependOnClassesThat().resideOutsideOfPackages("org.hysparse.conformance..", "org.hysparse.api..",
                        "org.hysparse.reference..", "org.junit..", "org.opentest4j..", "java..", "com.sun.management..")
                .check(CLASSES);
    }

    @Test
    void noPackageCycles() {
        slices().matching("org.hysparse.(*)..").should().beFreeOfCycles().check(CLASSES);
        slices().matching("org.hysparse.backend.(*)..").should().beFreeOfCycles().allowEmptyShould(true).check(CLASSES);
    }

    @Test
    void libraryModulesDoNotPrintToTheConsole() {
        noClasses().that().resideInAnyPackage("org.hysparse.api..", "org.hysparse.reference..", "org.hysparse.backend..",
                        "org.hysparse.conformance..")
                .should().accessField(System.class, "out").orShould().accessField(System.class, "err")
                .check(CLASSES);
    }
}
